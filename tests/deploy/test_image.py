"""The image runs what the local stack runs, as a non-root user, without build tools."""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy.manifests.config import SERVICE_SETTINGS
from tests.deploy.conftest import Manifest, by_kind

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
COMPILERS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cc)\b")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages and their instructions; continuation lines joined, comments dropped, ARGs substituted in FROM."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    logical = re.sub(r"\\\n", " ", "\n".join(lines))
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in filter(None, (line.strip() for line in logical.splitlines())):
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif instruction == "FROM":
            words = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest).split()
            stages.append(Stage(words[0], words[2] if len(words) > 2 and words[1].upper() == "AS" else None))
        else:
            stages[-1].instructions.append((instruction, rest))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((DOCKER / "Dockerfile").read_text())


def test_the_image_is_built_in_stages_and_ships_slim_python(stages: list[Stage]) -> None:
    builder, final = stages[0], stages[-1]
    assert len(stages) >= 2
    assert final.base.startswith("python:3.11-slim")
    assert any(COMPILERS.search(run) for run in builder.arguments("RUN")), "compilers belong in the builder"
    assert any(f"--from={builder.name}" in copy for copy in final.arguments("COPY"))


def test_the_final_stage_has_no_compilers(stages: list[Stage]) -> None:
    final = stages[-1]
    assert not [run for run in final.arguments("RUN") if "apt-get install" in run or COMPILERS.search(run)]
    assert not any("/usr/bin" in copy or "/usr/lib/gcc" in copy for copy in final.arguments("COPY"))


def test_the_image_runs_as_the_non_root_user_the_pods_expect(
    stages: list[Stage], rendered: dict[str, list[Manifest]]
) -> None:
    [user] = stages[-1].arguments("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and uid != "0", "a numeric non-root USER lets runAsNonRoot verify it"
    pod = next(iter(by_kind(rendered["prod"], "Deployment").values()))["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(uid)


def test_the_entrypoint_is_the_dispatch_script(stages: list[Stage]) -> None:
    [entrypoint] = stages[-1].arguments("ENTRYPOINT")
    [target] = [copy.split()[-1] for copy in stages[-1].arguments("COPY") if "entrypoint.sh" in copy]
    assert entrypoint == f'["{target}"]'
    assert os.stat(DOCKER / "entrypoint.sh").st_mode & stat.S_IXUSR


def test_dependencies_come_from_the_pinned_pyproject_list(stages: list[Stage]) -> None:
    runs = " ".join(stages[0].arguments("RUN"))
    assert "pyproject.toml" in runs and "pip install -r requirements.txt" in runs
    left_out = set(re.findall(r"'([a-z-]+)'", runs.split("local_stack_only = ")[1].split(";")[0]))
    pinned = {
        pin.split("==")[0] for pin in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    assert left_out <= pinned
    modules = {name.replace("-", "_").removesuffix("_mesh") for name in left_out}
    for source in [*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py"), *ROOT.glob("dripline/*.py")]:
        imports = set(re.findall(r"^\s*(?:from|import) (\w+)", source.read_text(), re.MULTILINE))
        assert not imports & modules, f"{source} imports a package the image leaves out"


@pytest.fixture
def stub_path(tmp_path: Path) -> dict[str, str]:
    """`python` and `dripline` that print their arguments, so the entrypoint's dispatch is observable."""
    for program in ("python", "dripline"):
        stub = tmp_path / program
        stub.write_text(f'#!/bin/sh\necho {program} "$@"\n')
        stub.chmod(0o755)
    return {"PATH": f"{tmp_path}:/usr/bin:/bin"}


def run_entrypoint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    script = str(DOCKER / "entrypoint.sh")
    return subprocess.run(["/bin/sh", script, *args], env=env, capture_output=True, text=True, check=False)


def local_stack_commands() -> dict[str, list[str]]:
    """What `make run` starts for each service (and the migration it applies before them)."""
    from dripline.devstack.stack import LocalStack
    from shared.settings import DevStackSettings

    stack = LocalStack.__new__(LocalStack)
    stack.settings = DevStackSettings()
    stack.plan_children()
    return {child.name: child.command for child in stack.children if child.name != "inbox"}


def test_the_image_knows_every_service_the_local_stack_runs() -> None:
    assert sorted(local_stack_commands()) == sorted(SERVICE_SETTINGS)


@pytest.mark.parametrize("service", sorted(SERVICE_SETTINGS))
def test_each_service_starts_as_the_local_stack_starts_it(stub_path: dict[str, str], service: str) -> None:
    local = local_stack_commands()[service]
    assert local[0] == sys.executable
    result = run_entrypoint(stub_path, service)
    assert result.stdout.split() == ["python", *local[1:]] == ["python", "-m", f"services.{service}"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [("migrate", "dripline migrate"), ("create-topics", "dripline create-topics"), ("dripline", "dripline")],
)
def test_jobs_run_the_dripline_command(stub_path: dict[str, str], command: str, expected: str) -> None:
    assert run_entrypoint(stub_path, command).stdout.strip() == expected


def test_wait_for_schema_runs_the_script_the_image_copies(stub_path: dict[str, str], stages: list[Stage]) -> None:
    [copied] = [shlex.split(copy)[-1] for copy in stages[-1].arguments("COPY") if "wait_for_schema.py" in copy]
    assert run_entrypoint(stub_path, "wait-for-schema").stdout.split() == ["python", copied]


def test_without_a_command_the_entrypoint_explains_itself(stub_path: dict[str, str]) -> None:
    result = run_entrypoint(stub_path)
    assert result.returncode == 64
    assert "usage:" in result.stderr


def test_dockerignore_lets_in_what_the_image_copies(stages: list[Stage]) -> None:
    allowed = [line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    for stage in stages:
        for copy in stage.arguments("COPY"):
            if "--from=" in copy:
                continue
            source = [word for word in shlex.split(copy) if not word.startswith("--")][0]
            assert any(rule.rstrip("*").rstrip("/") == source.rstrip("/") for rule in allowed), source


def test_the_job_commands_exist_in_the_dripline_console_script() -> None:
    import typer.main

    from dripline.cli import app

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["dripline"] == "dripline.cli:app"
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert {"migrate", "create-topics"} <= set(commands)
