"""Outside the local stack a service refuses built-in, short or missing secrets, naming the variable;
`dripline secrets generate` prints values it accepts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from dripline.cli import app as cli
from shared.identity import identifier_keys_from_setting
from shared.secret_rules import MIN_SECRET_BYTES, SERVICE_SETTINGS, fresh_secrets, secret_problems
from shared.settings import SenderSettings
from shared.tokens import key_ring_from_setting

ROOT = Path(__file__).resolve().parents[3]
GOOD = "a" * MIN_SECRET_BYTES


def built_in(environment: str = "production") -> SenderSettings:
    """Settings as the code has them, whatever `.env` or `make run`'s stack.env say."""
    return SenderSettings(_env_file=None, environment=environment)  # type: ignore[call-arg]


def sender(**secrets: str) -> SenderSettings:
    values = {
        "link_signing_keys": f"k1:{GOOD}",
        "identifier_keys": f"k1:{GOOD}",
        "webhook_signing_secret": GOOD,
        "identity_encryption_key": GOOD,
        **secrets,
    }
    return built_in().model_copy(update={name: SecretStr(value) for name, value in values.items()})


def test_the_built_in_development_secrets_are_refused_in_production() -> None:
    assert secret_problems(built_in()) == [
        "DRIPLINE_LINK_SIGNING_KEYS holds the built-in development value",
        "DRIPLINE_IDENTIFIER_KEYS holds the built-in development value",
        "DRIPLINE_IDENTITY_ENCRYPTION_KEY holds the built-in development value",
        "DRIPLINE_WEBHOOK_SIGNING_SECRET holds the built-in development value",
    ]


@pytest.mark.parametrize(
    ("secrets", "problem"),
    [
        (
            {"webhook_signing_secret": "x" * (MIN_SECRET_BYTES - 1)},
            "DRIPLINE_WEBHOOK_SIGNING_SECRET is shorter than 32",
        ),
        ({"webhook_signing_secret": ""}, "DRIPLINE_WEBHOOK_SIGNING_SECRET is not set"),
        ({"link_signing_keys": ""}, "DRIPLINE_LINK_SIGNING_KEYS is not set"),
        ({"link_signing_keys": f"k2:{GOOD},k1:short"}, "DRIPLINE_LINK_SIGNING_KEYS is shorter than 32"),
        ({"identifier_keys": f"k1:short,k2:{GOOD}"}, "DRIPLINE_IDENTIFIER_KEYS is shorter than 32"),
        (
            {"link_signing_keys": f"k2:{GOOD},dev:insecure-development-key-change-me"},
            "DRIPLINE_LINK_SIGNING_KEYS holds the built-in development value",
        ),
    ],
)
def test_a_short_missing_or_built_in_secret_is_named(secrets: dict[str, str], problem: str) -> None:
    [found] = secret_problems(sender(**secrets))
    assert found.startswith(problem)


def test_the_local_stack_may_use_the_built_in_secrets() -> None:
    assert secret_problems(built_in("local")) == []
    assert secret_problems(sender()) == []


def test_generated_secrets_are_fresh_and_accepted_by_every_service() -> None:
    first, second = fresh_secrets(), fresh_secrets()

    assert set(first) == {
        "DRIPLINE_LINK_SIGNING_KEYS",
        "DRIPLINE_IDENTIFIER_KEYS",
        "DRIPLINE_WEBHOOK_SIGNING_SECRET",
        "DRIPLINE_IDENTITY_ENCRYPTION_KEY",
        "DRIPLINE_DEMO_API_KEY",
    }
    assert all(first[name] != second[name] for name in first)
    key_ring_from_setting(first["DRIPLINE_LINK_SIGNING_KEYS"])  # a ring every service can load
    identifier_keys_from_setting(first["DRIPLINE_IDENTIFIER_KEYS"])
    assert first["DRIPLINE_DEMO_API_KEY"].startswith("dl_")
    for settings in SERVICE_SETTINGS:
        fields = {name.removeprefix("DRIPLINE_").lower(): SecretStr(value) for name, value in first.items()}
        mine = {name: value for name, value in fields.items() if name in settings.model_fields}
        accepted = settings(_env_file=None, environment="production", **mine)  # type: ignore[call-arg]
        assert secret_problems(accepted) == [], settings.__name__


def test_the_cli_prints_env_lines_that_pass_its_own_check(monkeypatch: pytest.MonkeyPatch) -> None:
    generated = CliRunner().invoke(cli, ["secrets", "generate"])
    assert generated.exit_code == 0, generated.output
    lines = [line for line in generated.output.splitlines() if line and not line.startswith("#")]
    for line in lines:
        name, _, value = line.partition("=")
        monkeypatch.setenv(name, value)

    checked = CliRunner().invoke(cli, ["secrets", "check"])

    assert checked.exit_code == 0, checked.output
    assert {line.partition("=")[0] for line in lines} == set(fresh_secrets())


def test_the_cli_check_names_what_production_would_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIPLINE_ENVIRONMENT", "local")  # the check judges by production's rules anyway
    monkeypatch.setenv("DRIPLINE_WEBHOOK_SIGNING_SECRET", "too-short")

    checked = CliRunner().invoke(cli, ["secrets", "check"])

    assert checked.exit_code == 1
    assert "DRIPLINE_WEBHOOK_SIGNING_SECRET is shorter than 32 bytes" in checked.output


@pytest.mark.parametrize("service", ["ingest", "scheduler", "sender", "tracker"])
def test_a_production_service_will_not_start_with_built_in_secrets(service: str, tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env |= {"DRIPLINE_ENVIRONMENT": "production", "DATABASE_URL": "postgresql://dripline@db.invalid/dripline"}

    started = subprocess.run(
        [sys.executable, "-m", f"services.{service}"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )

    assert started.returncode == 1, started.stderr
    assert f"{service}: refusing to start with DRIPLINE_ENVIRONMENT=production" in started.stderr
    assert "DRIPLINE_LINK_SIGNING_KEYS holds the built-in development value" in started.stderr
    assert "DRIPLINE_IDENTIFIER_KEYS holds the built-in development value" in started.stderr
    assert ("DRIPLINE_WEBHOOK_SIGNING_SECRET" in started.stderr) == (service == "sender")
