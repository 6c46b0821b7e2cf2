"""`dripline templates validate` and `publish`: files checked, versions bumped only when changed."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from dripline.cli import app as cli
from shared.workspaces import ensure_workspace
from tests.integration.sender.conftest import EXAMPLES, Sender
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


def test_validate_passes_the_examples_and_names_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\ncategory: sometimes\nsubject: x\npreheader: y\nhtml: '<p>{{ a | nope }}</p>'\n")

    good = CliRunner().invoke(cli, ["templates", "validate", str(EXAMPLES)])
    bad = CliRunner().invoke(cli, ["templates", "validate", str(broken)], terminal_width=200)

    assert good.exit_code == 0, good.output
    assert bad.exit_code == 1 and "category" in bad.output


async def test_publish_stores_each_file_once_until_it_changes(
    sender: Sender, stack: RealStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    workspace = f"cli-{uuid.uuid4().hex[:6]}"
    source = (EXAMPLES / "welcome-hello.yaml").read_text()
    (tmp_path / "welcome-hello.yaml").write_text(source)
    args = ["templates", "publish", "--workspace", workspace, str(tmp_path)]

    first = await asyncio.to_thread(CliRunner().invoke, cli, args)
    again = await asyncio.to_thread(CliRunner().invoke, cli, args)
    (tmp_path / "welcome-hello.yaml").write_text(source.replace("Start here", "Begin here"))
    changed = await asyncio.to_thread(CliRunner().invoke, cli, args)

    assert first.exit_code == 0 and "published" in first.output, first.output
    assert "unchanged" in again.output
    latest = await sender.runtime.templates.latest(workspace, "welcome-hello")
    assert changed.exit_code == 0 and latest is not None and latest.version == 2


async def test_preview_renders_the_language_asked_for_and_the_workspace_default_otherwise(
    sender: Sender, stack: RealStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    workspace = f"cli-{uuid.uuid4().hex[:6]}"
    connection = await asyncpg.connect(stack.database_url)
    try:
        await ensure_workspace(connection, workspace, "Language shop")
    finally:
        await connection.close()
    await sender.runtime.templates.publish(workspace, (EXAMPLES / "welcome-hello.yaml").read_text())

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["templates", *args], terminal_width=200)
        assert result.exit_code == 0, result.output
        return result.output

    def preview(*args: str) -> str:
        return run("preview", "welcome-hello", "--workspace", workspace, "--contact", '{"first_name": "Kari"}', *args)

    english, norwegian = await asyncio.to_thread(preview), await asyncio.to_thread(preview, "--locale", "nb-NO")
    assert "Welcome, Kari" in english and "Velkommen, Kari" in norwegian
    assert "default locale none" in await asyncio.to_thread(run, "default-locale", "--workspace", workspace)
    assert "default locale nb" in await asyncio.to_thread(run, "default-locale", "nb", "--workspace", workspace)
    german = await asyncio.to_thread(preview, "--locale", "de")  # no German variant: the workspace's nb
    assert "Velkommen, Kari" in german
    bad = await asyncio.to_thread(
        CliRunner().invoke, cli, ["templates", "default-locale", "xx-nonsense", "--workspace", workspace]
    )
    assert bad.exit_code == 2 and "unknown locale 'xx-nonsense'" in bad.output
    assert "default locale none" in await asyncio.to_thread(run, "default-locale", "--clear", "--workspace", workspace)
