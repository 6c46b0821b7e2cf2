"""Backfill of a new segment over many contacts: seeded with bulk SQL, judged the way saving a segment does.

    .venv/bin/python -m bench.segment_backfill [contacts]

Seeds a workspace with N contacts (default 100,000) whose last purchases spread over the past 240 days,
then times the count preview and the backfill of `lapsed-customers` (about half of them lapsed) on a
fresh embedded PostgreSQL and prints the figures.
"""

from __future__ import annotations

import asyncio
import sys
import time

import asyncpg
import yaml
from rich.console import Console
from rich.table import Table

from services.scheduler.adapters.flows import FlowCatalog
from services.scheduler.adapters.segments import save_segment, segment_counts
from services.scheduler.domain import Segment
from services.scheduler.unit_of_work.unit import Units
from services.scheduler.usecases.journeys import Journeys
from services.scheduler.usecases.segment_backfill import SegmentBackfill
from shared.db.pool import create_pool
from shared.settings import SchedulerSettings
from shared.workspaces import ensure_workspace
from tests.support.stack import ROOT, start_test_stack, stop_test_stack

WORKSPACE = "bench-segments"
LAPSED = ROOT / "examples" / "segments" / "lapsed-customers.yaml"
_SEED = """
WITH n AS (SELECT g, format('c%s', lpad(g::text, 7, '0')) AS id FROM generate_series(1, $2) AS g)
INSERT INTO contacts (workspace_id, contact_id, profile)
SELECT $1, id, jsonb_build_object('email', id || '@example.com') FROM n
"""
_FACTS = """
INSERT INTO contact_facts (workspace_id, contact_id, first_purchase_at, last_purchase_at, order_count, spent)
SELECT $1, contact_id, now() - interval '300 days', now() - (random() * interval '240 days'), 1,
       '{"EUR": {"total": "40", "orders": 1}}'::jsonb
FROM contacts WHERE workspace_id = $1
"""


async def main(count: int) -> None:
    console = Console()
    stack = await start_test_stack()
    try:
        settings = stack.settings(SchedulerSettings)
        connection = await asyncpg.connect(stack.database_url)
        try:
            await ensure_workspace(connection, WORKSPACE, "Bench shop")
            started = time.perf_counter()
            await connection.execute(_SEED, WORKSPACE, count)
            await connection.execute(_FACTS, WORKSPACE)
            await connection.execute("ANALYZE")
            seeded = time.perf_counter() - started
        finally:
            await connection.close()
        segment = Segment.model_validate(yaml.safe_load(LAPSED.read_text()))
        pool = await create_pool(settings)
        try:
            units = Units(pool, FlowCatalog())
            backfill = SegmentBackfill(units, Journeys(settings), settings)
            started = time.perf_counter()
            previewed = await backfill.preview(WORKSPACE, segment)
            preview_seconds = time.perf_counter() - started
            await save_segment(pool, WORKSPACE, segment)
            started = time.perf_counter()
            judged = await backfill.run(WORKSPACE, segment.id)
            backfill_seconds = time.perf_counter() - started
            [(_, members)] = await segment_counts(pool, WORKSPACE, segment.id)
            timers = await pool.fetchval("SELECT count(*) FROM timers WHERE kind = 'segment'")
        finally:
            await pool.close()
    finally:
        await stop_test_stack(stack)
    table = Table("step", "contacts", "seconds", "contacts/s", title=f"lapsed-customers over {count:,} contacts")
    table.add_row("seed (bulk SQL)", f"{count:,}", f"{seeded:.1f}", "")
    table.add_row(f"preview ({previewed:,} would be members)", f"{count:,}", f"{preview_seconds:.1f}",
                  f"{count / preview_seconds:,.0f}")  # fmt: skip
    table.add_row(f"backfill ({members:,} members, {timers:,} timers armed)", f"{judged:,}",
                  f"{backfill_seconds:.1f}", f"{judged / backfill_seconds:,.0f}")  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
