"""Every setting a service reads reaches its pods, from a ConfigMap key or a Secret key.

Settings classes grow; a new field fails here until `python -m deploy.generate` wires it in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from deploy.generate import stale
from deploy.manifests.config import LOCAL_ONLY, SECRET_NAME, SERVICE_SETTINGS, env_name, is_secret, secret_keys
from deploy.manifests.workloads import WORKLOADS
from shared.settings import CommonSettings, SenderSettings
from tests.deploy.conftest import OVERLAYS, Manifest, by_kind

README = Path(__file__).resolve().parents[2] / "deploy" / "README.md"


def provided_env(container: Manifest, config_maps: dict[str, Manifest]) -> dict[str, str]:
    """Env var → where it comes from, as the kubelet would assemble it."""
    provided: dict[str, str] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        provided |= {key: f"ConfigMap {name}" for key in config_maps[name].get("data", {})}
    for entry in container.get("env", []):
        ref = entry.get("valueFrom", {})
        kind = "Secret" if "secretKeyRef" in ref else "ConfigMap" if "configMapKeyRef" in ref else "value"
        provided[entry["name"]] = kind
    return provided


def uncovered(settings: type[CommonSettings], container: Manifest, config_maps: dict[str, Manifest]) -> list[str]:
    provided = provided_env(container, config_maps)
    return [
        f"{settings.__name__}.{name} (env {env_name(name, field)})"
        for name, field in settings.model_fields.items()
        if name not in LOCAL_ONLY and env_name(name, field) not in provided
    ]


def test_generated_manifests_are_current() -> None:
    late = [str(path) for path in stale()]
    assert not late, f"regenerate with `python -m deploy.generate`: {late}"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize(("workload", "service"), [(w.component, w.service) for w in WORKLOADS])
def test_every_service_setting_reaches_the_service(
    rendered: dict[str, list[Manifest]], overlay: str, workload: str, service: str
) -> None:
    config_maps = by_kind(rendered[overlay], "ConfigMap")
    pod = by_kind(rendered[overlay], "Deployment")[f"dripline-{workload}"]["spec"]["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == workload]
    missing = uncovered(SERVICE_SETTINGS[service], container, config_maps)
    assert not missing, (
        f"the {workload} Deployment does not provide {', '.join(missing)}: run `python -m deploy.generate` "
        "(SecretStr fields become keys of the dripline-secrets Secret; document them in deploy/README.md)"
    )


def test_a_setting_added_later_is_reported_by_name(rendered: dict[str, list[Manifest]]) -> None:
    class GrownSenderSettings(SenderSettings):
        smtp_pool_recycle_seconds: float = 60.0
        smtp_api_token: SecretStr | None = None

    pod = by_kind(rendered["dev"], "Deployment")["dripline-sender"]["spec"]["template"]["spec"]
    missing = uncovered(GrownSenderSettings, pod["containers"][0], by_kind(rendered["dev"], "ConfigMap"))
    assert missing == [
        "GrownSenderSettings.smtp_pool_recycle_seconds (env DRIPLINE_SMTP_POOL_RECYCLE_SECONDS)",
        "GrownSenderSettings.smtp_api_token (env DRIPLINE_SMTP_API_TOKEN)",
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_and_init_containers_get_the_common_settings(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    config_maps = by_kind(rendered[overlay], "ConfigMap")
    containers = [by_kind(rendered[overlay], "Job")["dripline-migrate"]["spec"]["template"]["spec"]["containers"][0]]
    for deployment in by_kind(rendered[overlay], "Deployment").values():
        containers += deployment["spec"]["template"]["spec"]["initContainers"]
    for container in containers:
        assert uncovered(CommonSettings, container, config_maps) == [], container["name"]


def test_secrets_are_never_config_map_values(rendered: dict[str, list[Manifest]]) -> None:
    keys = set(secret_keys())
    for objects in rendered.values():
        assert not any(obj["kind"] == "Secret" for obj in objects), "secret values are never committed"
        for config_map in by_kind(objects, "ConfigMap").values():
            assert keys.isdisjoint(config_map.get("data", {})), config_map["metadata"]["name"]


def test_every_service_secret_comes_from_the_secret() -> None:
    for settings in SERVICE_SETTINGS.values():
        for name, field in settings.model_fields.items():
            if is_secret(field) and name not in LOCAL_ONLY:
                assert env_name(name, field) in secret_keys(), name


def test_readme_documents_every_secret_key() -> None:
    text = README.read_text()
    assert SECRET_NAME in text
    missing = [key for key in secret_keys() if f"`{key}`" not in text]
    assert not missing, f"document these keys of {SECRET_NAME} in deploy/README.md: {missing}"
