"""`dripline flows publish|list|pause|resume|migrate` against the real database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from dripline.flows_cli import flows_app
from tests.integration.scheduler.conftest import new_workspace
from tests.support.stack import ROOT, RealStack

pytestmark = pytest.mark.stack
runner = CliRunner()


@pytest.fixture
def workspace(stack: RealStack, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    workspace_id, _ = asyncio.run(new_workspace(stack))
    return workspace_id


def flows(*args: str) -> str:
    result = runner.invoke(flows_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_publish_list_and_operate_flows_from_the_command_line(workspace: str, tmp_path: Path) -> None:
    examples = ROOT / "examples" / "flows"
    published = flows(
        "publish", str(examples / "welcome-series.yaml"), str(examples / "birthday.yaml"), "--workspace", workspace
    )
    assert "published welcome-series v1" in published and "published birthday v1" in published
    assert "unchanged welcome-series v1" in flows(
        "publish", str(examples / "welcome-series.yaml"), "--workspace", workspace
    )

    edited = tmp_path / "welcome-series.yaml"
    edited.write_text((examples / "welcome-series.yaml").read_text().replace("duration: 5d", "duration: 6d"))
    assert "published welcome-series v2" in flows("publish", str(edited), "--workspace", workspace)

    assert "paused welcome-series" in flows("pause", "welcome-series", "--workspace", workspace)
    listed = flows("list", "--workspace", workspace)
    assert "welcome-series" in listed and "yes" in listed and "birthday" in listed
    assert "resumed welcome-series: 0" in flows("resume", "welcome-series", "--workspace", workspace)
    assert "moved 0 enrollments of welcome-series to v2" in flows("migrate", "welcome-series", "--workspace", workspace)

    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nname: Broken\ntriggers: []\nsteps: []\n")
    result = runner.invoke(flows_app, ["publish", str(broken), "--workspace", workspace])
    assert result.exit_code == 1 and f"{broken}:" in result.output.replace("\n", "")


def test_validate_and_publish_warn_when_the_caps_allow_more_than_a_topic_promises(
    workspace: str, stack: RealStack
) -> None:
    async def promise(topic: str, text: dict[str, str]) -> None:
        connection = await asyncpg.connect(stack.database_url)
        try:
            await connection.execute(
                "INSERT INTO subscription_topics (workspace_id, topic, name, promise) VALUES ($1, $2, $2, $3::jsonb)",
                workspace,
                topic,
                json.dumps({"text": text}),
            )
        finally:
            await connection.close()

    asyncio.run(promise("newsletter", {"nb": "Én e-post i måneden"}))
    asyncio.run(promise("shop-offers", {"nb": "Tilbud av og til"}))
    examples = ROOT / "examples" / "flows"
    welcome, win_back = str(examples / "welcome-series.yaml"), str(examples / "win-back.yaml")
    offline = flows("validate", welcome, win_back)
    assert "warning" not in offline  # without a workspace there are no caps to compare with
    checked = " ".join(flows("validate", welcome, win_back, "--workspace", workspace).split())
    # the test workspace runs without caps: nothing stops flows from writing more than promised
    assert (
        f"warning {welcome}: topic newsletter: no frequency cap on marketing email: flows may send more than "
        "1 in 30 days" in checked
    )
    assert f"warning {win_back}: topic shop-offers: the promise 'Tilbud av og til' does not say how many" in checked
    published = " ".join(flows("publish", welcome, "--workspace", workspace).split())
    assert "published welcome-series v1" in published and "topic newsletter: no frequency cap" in published
