"""A new segment judges the contacts already there: a count preview first, then a backfill with progress."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.scheduler.adapters.flows import FlowCatalog
from services.scheduler.adapters.segment_backfills import backfill_progress, start_backfill
from services.scheduler.adapters.segments import save_segment, segment_counts
from services.scheduler.domain import Segment
from services.scheduler.unit_of_work.unit import Units
from services.scheduler.usecases.journeys import Journeys
from services.scheduler.usecases.segment_backfill import SegmentBackfill
from services.scheduler.workers.segment_backfills import Backfills
from shared.contract.topics import SEGMENT_CHANGES
from shared.kafka.producer import Producer
from shared.outbox import OutboxRelay
from shared.settings import CommonSettings, SchedulerSettings
from tests.integration.scheduler.conftest import Shop, new_workspace, publish
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

WELCOME_BACK = """
id: big-spenders-hello
name: Big spenders hello
category: transactional
triggers:
  - type: segment_entered
    segment: big-spenders
steps:
  - id: hello
    type: send
    template: big-spender-hello
"""


async def test_saving_a_segment_backfills_the_contacts_already_there_and_starts_their_flows(shop: Shop) -> None:
    tag = uuid.uuid4().hex[:8]
    spends = {"a": "120", "b": "80", "c": "300"}
    for name, revenue in spends.items():
        email = f"{name}-{tag}@example.com"
        await shop.signup(email)
        body = {"contact": {"email": email}, "order_id": f"o-{name}", "revenue": revenue, "currency": "EUR"}
        await shop.event({"type": "purchase", **body})
    segment = {"id": "big-spenders", "name": "Big spenders", "condition": "contact.facts.total_spent.EUR >= 100.0"}
    async with shop.scheduler() as scheduler:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while (preview := (await scheduler.post("/v1/segments/preview", json=segment)).json())["contacts"] < 3 or (
            preview["members"] < 2
        ):
            assert loop.time() < deadline, preview  # the purchases are still on their way through the bus
            await asyncio.sleep(0.1)
        assert preview == {"members": 2, "contacts": 3}
        bad = await scheduler.post("/v1/segments/preview", json={**segment, "condition": "contact.facts.("})
        assert bad.status_code == 422 and "condition" in bad.text
        assert (await scheduler.get("/v1/segments")).json() == []  # a preview saves nothing

        await publish(scheduler, WELCOME_BACK)
        saved = (await scheduler.post("/v1/segments", json=segment)).json()
        assert saved["backfill"]["total"] == 3 and saved["backfill"]["finished_at"] is None
        deadline = loop.time() + 15
        while (found := (await scheduler.get("/v1/segments/big-spenders")).json())["backfill"]["finished_at"] is None:
            assert loop.time() < deadline, found
            await asyncio.sleep(0.05)
        assert (found["members"], found["backfill"]["done"]) == (2, 3)

    requested = await shop.requested(2, settle=1.0)
    assert sorted(r["template_id"] for r in requested) == ["big-spender-hello"] * 2


async def test_the_daily_sweep_judges_again_what_no_timer_foresaw_and_only_when_due(stack: RealStack) -> None:
    workspace_id, _ = await new_workspace(stack)
    settings = stack.settings(SchedulerSettings)
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    try:
        await pool.execute("INSERT INTO contacts (workspace_id, contact_id) VALUES ($1, 'c1')", workspace_id)
        lapsed = Segment(id="lapsed", name="Lapsed", condition="contact.facts.last_purchase_at < now - duration('1d')")
        await save_segment(pool, workspace_id, lapsed)
        units = Units(pool, FlowCatalog())
        backfill = SegmentBackfill(units, Journeys(settings), settings)
        assert await backfill.sweep() >= 1  # never judged: due (other tests' workspaces may be too)
        # A purchase written behind the scheduler's back (no record, so no timer): only a sweep finds it.
        await pool.execute(
            "INSERT INTO contact_facts (workspace_id, contact_id, last_purchase_at) "
            "VALUES ($1, 'c1', now() - '2d'::interval)",
            workspace_id,
        )
        await backfill.sweep()  # judged a moment ago: not due for a day
        assert await segment_counts(pool, workspace_id, "lapsed") == [(lapsed, 0)]
        await backfill.sweep(every=timedelta(0))
        assert await segment_counts(pool, workspace_id, "lapsed") == [(lapsed, 1)]
    finally:
        await pool.close()


_SEED = """
INSERT INTO contacts (workspace_id, contact_id, profile)
SELECT $1, format('c%s', lpad(g::text, 5, '0')), jsonb_build_object('email', format('c%s@example.com', g))
FROM generate_series(1, $2) AS g
"""
# Last purchases a whole number of days ago plus half a day (never near the 120-day threshold), spends of
# 10 to 100 EUR; every seventh contact never bought.
_FACTS = """
INSERT INTO contact_facts (workspace_id, contact_id, first_purchase_at, last_purchase_at, order_count, spent)
SELECT $1, contact_id, at, at, 1, jsonb_build_object('EUR', jsonb_build_object('total', spend::text, 'orders', 1))
FROM (
    SELECT contact_id, now() - make_interval(days => n % 240) - interval '12 hours' AS at, 10 + (n * 7) % 91 AS spend
    FROM (SELECT contact_id, substr(contact_id, 2)::int AS n FROM contacts WHERE workspace_id = $1) AS c
    WHERE n % 7 <> 0
) AS f
"""


async def _seeded(stack: RealStack, pool: asyncpg.Pool, contacts: int, segment: Segment) -> str:
    """A workspace of its own with `contacts` contacts and their facts, and the segment saved."""
    workspace_id, _ = await new_workspace(stack)
    await pool.execute(_SEED, workspace_id, contacts)
    await pool.execute(_FACTS, workspace_id)
    await save_segment(pool, workspace_id, segment)
    return workspace_id


async def _relay_all(relay: OutboxRelay) -> None:
    while await relay.relay_once():
        pass


async def test_a_backfill_over_thousands_of_contacts_keeps_exactly_the_members_the_condition_names(
    stack: RealStack, pool: asyncpg.Pool
) -> None:
    settings = stack.settings(SchedulerSettings)
    segment = Segment(
        id="lapsed-spenders",
        name="Lapsed spenders",
        condition="contact.facts.last_purchase_at < now - duration('120d') && contact.facts.total_spent.EUR >= 50.0",
    )
    workspace_id = await _seeded(stack, pool, 3000, segment)
    # Members from before the change: those still lapsed stay (no change), the rest leave.
    stale = [f"c{n:05d}" for n in range(1, 3001, 50)]
    await pool.execute(
        "INSERT INTO segment_members (workspace_id, segment_id, contact_id, entered_at) "
        "SELECT $1, 'lapsed-spenders', unnest($2::text[]), now()",
        workspace_id,
        stale,
    )
    facts = await pool.fetch(
        "SELECT contact_id, last_purchase_at, (spent->'EUR'->>'total')::numeric AS spent FROM contact_facts "
        "WHERE workspace_id = $1",
        workspace_id,
    )
    now = datetime.now(UTC)
    expected = {
        row["contact_id"] for row in facts if row["last_purchase_at"] < now - timedelta(days=120) and row["spent"] >= 50
    }
    will_flip = {row["contact_id"] for row in facts if row["last_purchase_at"] >= now - timedelta(days=120)}
    will_flip &= {row["contact_id"] for row in facts if row["spent"] >= 50}
    assert 500 < len(expected) < 1500 and set(stale) - expected and set(stale) & expected

    producer = Producer(stack.settings(CommonSettings))
    await producer.start()
    try:
        relay = OutboxRelay(pool, producer)
        await _relay_all(relay)  # what other tests left waiting goes first
        backfill = SegmentBackfill(Units(pool, FlowCatalog()), Journeys(settings), settings, page=700)
        progress: list[tuple[int, int]] = []
        assert await backfill.run(workspace_id, segment.id, on_progress=lambda *p: progress.append(p)) == 3000
        await _relay_all(relay)
        again = await backfill.run(workspace_id, segment.id)  # judging again (a restart) changes nothing
        assert again == 3000
        await _relay_all(relay)
    finally:
        await producer.stop()

    # Five pages (two judged at a time), progress told after each one.
    assert len(progress) == 5 and progress[-1] == (3000, 3000) and progress == sorted(progress)
    members = await pool.fetch(
        "SELECT contact_id FROM segment_members WHERE workspace_id = $1 AND segment_id = $2", workspace_id, segment.id
    )
    assert {row["contact_id"] for row in members} == expected
    changes = await read_topic(
        stack, SEGMENT_CHANGES, count=len(expected - set(stale)) + len(set(stale) - expected),
        where=lambda r: r.get("workspace_id") == workspace_id, settle=1.0,
    )  # fmt: skip
    entered = [c["contact_id"] for c in changes if c["change"] == "entered"]
    left = [c["contact_id"] for c in changes if c["change"] == "left"]
    assert sorted(entered) == sorted(expected - set(stale))  # one record per new member, none twice
    assert sorted(left) == sorted(set(stale) - expected)
    assert {(c["segment_id"], c["cause"]) for c in changes} == {(segment.id, "backfill")}
    timers = await pool.fetch(
        "SELECT contact_id FROM timers WHERE workspace_id = $1 AND kind = 'segment'", workspace_id
    )
    assert {row["contact_id"] for row in timers} == will_flip  # their purchase turns 120 days old later


async def test_a_backfill_cut_short_is_started_over_once_its_progress_stops_moving(
    stack: RealStack, pool: asyncpg.Pool
) -> None:
    settings = stack.settings(SchedulerSettings)
    spenders = Segment(id="spenders", name="Spenders", condition="contact.facts.total_spent.EUR >= 50.0")
    workspace_id = await _seeded(stack, pool, 70, spenders)
    # A run cut short by a stop: started an hour ago, nothing done, never finished.
    await start_backfill(pool, workspace_id, spenders.id, datetime.now(UTC) - timedelta(hours=1))
    backfills = Backfills(SegmentBackfill(Units(pool, FlowCatalog()), Journeys(settings), settings))
    key = (workspace_id, spenders.id)
    try:
        assert key not in await backfills.resume_stalled()  # the first look: it may still be moving elsewhere
        assert key in await backfills.resume_stalled()  # it did not move since: started over
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while (progress := await backfill_progress(pool, *key)) is None or progress.finished_at is None:
            assert loop.time() < deadline, progress
            await asyncio.sleep(0.05)
        assert key not in await backfills.resume_stalled()
    finally:
        await backfills.stop()
    spend = await pool.fetch(
        "SELECT contact_id FROM contact_facts WHERE workspace_id = $1 AND (spent->'EUR'->>'total')::numeric >= 50",
        workspace_id,
    )
    assert 10 < len(spend) < 60
    assert await segment_counts(pool, workspace_id, spenders.id) == [(spenders, len(spend))]
    assert (progress.done, progress.members) == (70, len(spend))
