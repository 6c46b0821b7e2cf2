"""Resolving a broadcast's audience on the real database: who is in it, when each one is due, and what a
contact's erasure leaves; and the migration that adds the tables."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from services.scheduler.adapters.broadcast_recipients import (
    LocalMoment,
    claim_due,
    resolve_batch,
    sample_revenue,
    tried_purchases,
)
from services.scheduler.analytics.domain.broadcast_tests import pick_winner
from services.scheduler.domain.broadcasts import Audience, MarketingAudience, SegmentAudience, TopicAudience
from shared.contact_data import erase_contact
from tests.support.stack import RealStack, own_database

pytestmark = pytest.mark.stack

NOW = datetime(2026, 12, 24, 0, 0, tzinfo=UTC)


async def _contacts(connection: asyncpg.Connection, workspace: str, zones: dict[str, str | None]) -> None:
    for contact_id, zone in zones.items():
        profile = {"email": f"{contact_id}@example.com", **({"timezone": zone} if zone else {})}
        await connection.execute(
            "INSERT INTO contacts (workspace_id, contact_id, profile) VALUES ($1, $2, $3::jsonb)",
            workspace,
            contact_id,
            json.dumps(profile),
        )
        await connection.execute(
            "INSERT INTO segment_members (workspace_id, segment_id, contact_id, entered_at) VALUES ($1, 'vip', $2, $3)",
            workspace,
            contact_id,
            NOW,
        )


async def test_each_recipient_is_due_at_nine_on_their_own_clock_and_the_excluded_are_left_out(
    stack: RealStack,
) -> None:
    workspace = f"w-{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(stack.database_url)
    try:
        zones = {"oslo": "Europe/Oslo", "tokyo": "Asia/Tokyo", "nowhere": "Mars/Olympus", "unknown": None,
                 "honolulu": "Pacific/Honolulu", "bought": "Europe/Oslo"}  # fmt: skip
        await _contacts(connection, workspace, zones)
        await connection.execute(
            "INSERT INTO segment_members (workspace_id, segment_id, contact_id, entered_at) "
            "VALUES ($1, 'bought-today', 'bought', $2)",
            workspace,
            NOW,
        )
        frozen = await connection.fetchval("SELECT now()")
        await _contacts(connection, workspace, {"late": "Europe/Oslo"})  # after the audience froze
        await connection.execute("UPDATE contacts SET created_at = $2 WHERE contact_id = 'late' AND workspace_id = $1",
                                 workspace, frozen + timedelta(seconds=1))  # fmt: skip
        nine = LocalMoment(date(2026, 12, 24), timedelta(hours=9), "America/New_York")
        batches = []
        cursor = None
        while True:
            batch = await resolve_batch(
                connection, workspace, "xmas", audience=SegmentAudience(segment="vip"), exclude=["bought-today"],
                variants=["a", "b"], after=cursor, frozen_at=frozen, limit=2, due=NOW + timedelta(hours=3),
                local=nine,
            )  # fmt: skip
            batches.append(batch.inserted)
            if batch.picked < 2:
                break
            cursor = batch.last
        rows = await connection.fetch(
            "SELECT contact_id, variant, due_at FROM broadcast_recipients WHERE workspace_id = $1", workspace
        )
        due = {row["contact_id"]: row["due_at"] for row in rows}
        assert batches == [2, 2, 1]  # keyset batches of two, each contact once
        assert due == {
            # Tokyo's 09:00 (00:00 UTC) had passed when the send started (03:00 UTC): at once.
            "tokyo": NOW + timedelta(hours=3),
            "oslo": datetime(2026, 12, 24, 8, tzinfo=UTC),
            "honolulu": datetime(2026, 12, 24, 19, tzinfo=UTC),
            # No zone, or one PostgreSQL does not know: the workspace's (New York, UTC-5).
            "nowhere": datetime(2026, 12, 24, 14, tzinfo=UTC),
            "unknown": datetime(2026, 12, 24, 14, tzinfo=UTC),
        }
        assert {row["variant"] for row in rows} <= {"a", "b"}
        # Resolving again (a replay after a crash) adds nobody.
        again = await resolve_batch(
            connection, workspace, "xmas", audience=SegmentAudience(segment="vip"), exclude=["bought-today"],
            variants=["a", "b"], after=None, frozen_at=frozen, limit=10, due=NOW, local=nine,
        )  # fmt: skip
        assert (again.picked, again.inserted) == (5, 0)
        async with connection.transaction():
            claimed = await claim_due(connection, workspace, "xmas", datetime(2026, 12, 24, 9, tzinfo=UTC), 10)
        assert [c.contact_id for c in claimed] == ["tokyo", "oslo"]
        async with connection.transaction():
            await erase_contact(connection, workspace, "oslo")
        assert (
            await connection.fetchval(
                "SELECT count(*) FROM broadcast_recipients WHERE workspace_id = $1 AND contact_id = 'oslo'", workspace
            )
            == 0
        )
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("audience", "expected"),
    [(TopicAudience(topic="newsletter"), {"ann", "cai"}), (MarketingAudience(), {"ann", "bo"})],
    ids=["topic", "marketing"],
)
async def test_a_topic_audience_is_its_subscribed_readers_only(
    stack: RealStack, audience: Audience, expected: set[str]
) -> None:
    """Subscribed, not pending or unsubscribed: read through the consent store's statement."""
    workspace = f"w-{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(stack.database_url)
    try:
        await _contacts(connection, workspace, dict.fromkeys(["ann", "bo", "cai", "dag"]))
        subscriptions = [("ann", "newsletter", "subscribed"), ("ann", "*", "subscribed"), ("bo", "*", "subscribed"),
                         ("bo", "newsletter", "unsubscribed"), ("cai", "newsletter", "subscribed"),
                         ("dag", "newsletter", "pending"), ("dag", "*", "pending")]  # fmt: skip
        await connection.executemany(
            "INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) VALUES ($1, $2, $3, $4)",
            [(workspace, *row) for row in subscriptions],
        )
        frozen = await connection.fetchval("SELECT now()")
        batch = await resolve_batch(
            connection, workspace, "news", audience=audience, exclude=[], variants=["a"], after=None,
            frozen_at=frozen, limit=100, due=NOW, local=None,
        )  # fmt: skip
        found = await connection.fetch(
            "SELECT contact_id FROM broadcast_recipients WHERE workspace_id = $1 AND broadcast_id = 'news'", workspace
        )
        assert {row["contact_id"] for row in found} == expected
        assert batch.inserted == len(expected)
    finally:
        await connection.close()


async def test_a_revenue_test_counts_the_sample_messages_a_purchase_was_credited_to(stack: RealStack) -> None:
    workspace = f"w-{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(stack.database_url)
    try:
        for n in range(40):  # 20 of each template; 8 of B's readers bought, 1 of A's; the rest still wait
            variant = "a" if n % 2 == 0 else "b"
            await connection.execute(
                "INSERT INTO broadcast_recipients (workspace_id, broadcast_id, contact_id, variant, due_at, state, "
                "message_id) VALUES ($1, 'sale', $2, $3, $4, 'requested', $5)",
                workspace, f"c{n}", variant, NOW, f"m{n}",
            )  # fmt: skip
        await connection.execute(
            "INSERT INTO broadcast_recipients (workspace_id, broadcast_id, contact_id, variant, due_at, state) "
            "VALUES ($1, 'sale', 'later', '', 'infinity', 'waiting')",
            workspace,
        )
        bought = [1, 3, 5, 7, 9, 11, 13, 15, 0]
        for n in bought:
            await connection.execute(
                "INSERT INTO analytics_attributions (workspace_id, purchase_id, order_id, contact_id, message_id, "
                "touch, flow_id, flow_version, step_id, variant, revenue, currency, purchased_at) "
                "VALUES ($1, $2, $2, $3, $4, 'clicked', '', 0, '', '', $5, 'NOK', $6)",
                workspace, f"p{n}", f"c{n}", f"m{n}", Decimal("100.50"), NOW,
            )  # fmt: skip

        tried = await tried_purchases(connection, workspace, "sale")
        assert tried == [("a", 20, 1), ("b", 20, 8)]
        winner, evidence = pick_winner(tried, "revenue")
        assert winner == "b" and evidence["significant"], evidence
        assert await sample_revenue(connection, workspace, "sale") == {
            "a": {"NOK": {"orders": 1, "revenue": "100.5000"}},
            "b": {"NOK": {"orders": 8, "revenue": "804.0000"}},
        }
    finally:
        await connection.close()


async def test_the_broadcasts_migration_adds_its_tables_and_takes_them_away(stack: RealStack) -> None:
    tables = "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('broadcasts', 'broadcast_recipients')"
    async with own_database(stack, "broadcasts", "0001") as database:
        assert await database.connection.fetchval(tables) == 0
        await database.upgrade("0022_broadcasts")
        assert await database.connection.fetchval(tables) == 2
        await database.downgrade("0022_broadcasts-1")
        assert await database.connection.fetchval(tables) == 0
