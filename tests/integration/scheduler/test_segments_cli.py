"""`dripline segments preview|apply|list` against the real database: counts, a backfill with progress, a table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from dripline.segments_cli import segments_app
from tests.integration.scheduler.conftest import new_workspace
from tests.support.stack import ROOT, RealStack

pytestmark = pytest.mark.stack
runner = CliRunner()
_SEED = """
INSERT INTO contacts (workspace_id, contact_id) SELECT $1, 'c' || g FROM generate_series(1, 5) AS g;
"""
_FACTS = """
INSERT INTO contact_facts (workspace_id, contact_id, last_purchase_at, order_count)
SELECT $1, 'c' || g, now() - make_interval(days => 100 * g), 1 FROM generate_series(1, 5) AS g
"""


async def _seeded(stack: RealStack) -> str:
    workspace_id, _ = await new_workspace(stack)
    connection = await asyncpg.connect(stack.database_url)
    try:
        await connection.execute(_SEED, workspace_id)
        await connection.execute(_FACTS, workspace_id)  # last purchases 100, 200 … 500 days ago
    finally:
        await connection.close()
    return workspace_id


def segments(*args: str) -> str:
    result = runner.invoke(segments_app, list(args), terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_preview_then_apply_the_shipped_lapsed_customers_segment(
    stack: RealStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    workspace = asyncio.run(_seeded(stack))
    lapsed = str(ROOT / "examples" / "segments" / "lapsed-customers.yaml")

    assert "lapsed-customers would hold 4 contacts" in segments("preview", lapsed, "--workspace", workspace)
    applied = segments("apply", lapsed, "--workspace", workspace)
    assert "Backfilling lapsed-customers" in applied and "5/5" in applied
    assert f"Saved lapsed-customers in {workspace}: 4 members." in applied
    listed = segments("list", "--workspace", workspace)
    assert "lapsed-customers" in listed and "5/5 done" in listed

    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nname: Broken\ncondition: 'contact.facts.('\n")
    result = runner.invoke(segments_app, ["apply", str(broken), "--workspace", workspace])
    assert result.exit_code == 1 and "does not parse" in result.output
