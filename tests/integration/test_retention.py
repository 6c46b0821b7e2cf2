"""The retention pass deletes messages and per-contact engagement past their age and blanks old consent
evidence, leaving what is younger (and the consent entries themselves) alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shared.retention import RetentionPeriods, retention_pass

pytestmark = pytest.mark.stack

NOW = datetime.now(UTC)
OLD, RECENT = NOW - timedelta(days=400), NOW - timedelta(days=2)
PERIODS = RetentionPeriods(
    messages=timedelta(days=180), engagement=timedelta(days=300), consent_evidence=timedelta(days=365)
)


async def _rows(pool: asyncpg.Pool, run: str) -> dict[str, list[str]]:
    found = {}
    for table, column in (
        ("send_ledger", "message_id"),
        ("message_requests", "message_id"),
        ("analytics_messages", "message_id"),
        ("analytics_attributions", "purchase_id"),
        ("analytics_entries", "flow_id"),
    ):
        rows = await pool.fetch(f"SELECT {column} AS id FROM {table} WHERE workspace_id = $1 ORDER BY 1", run)
        found[table] = [row["id"] for row in rows]
    return found


async def test_a_pass_removes_what_is_past_its_age_and_keeps_the_rest(pool: asyncpg.Pool) -> None:
    run = f"retention-{uuid.uuid4().hex[:8]}"
    for age, name in ((OLD, "old"), (RECENT, "recent")):
        await pool.execute(
            "INSERT INTO send_ledger (message_id, workspace_id, contact_id, channel, category, template_id, state, "
            "last_reply, request, reported, updated_at) "
            "VALUES ($1, $2, 'c', 'email', 'marketing', 't', 'bounced', '550 5.1.1 <k@example.com>', '{}', true, $3)",
            f"{run}-{name}",
            run,
            age,
        )
        await pool.execute(
            "INSERT INTO message_requests (message_id, workspace_id, contact_id, record, requested_at) "
            "VALUES ($1, $2, 'c', '\\x00', $3)",
            f"{run}-{name}",
            run,
            age,
        )
        await pool.execute(
            "INSERT INTO analytics_messages (workspace_id, message_id, contact_id, requested_at, last_opened_at) "
            "VALUES ($1, $2, 'c', $3, $3)",
            run,
            f"{run}-{name}",
            age,
        )
        await pool.execute(
            "INSERT INTO analytics_attributions (workspace_id, purchase_id, order_id, contact_id, message_id, touch, "
            "flow_id, flow_version, step_id, variant, revenue, currency, purchased_at) "
            "VALUES ($1, $2, 'o', 'c', 'm', 'clicked', 'f', 1, 's', 'a', 10, 'NOK', $3)",
            run,
            f"{run}-{name}",
            age,
        )
        await pool.execute(
            "INSERT INTO analytics_entries (workspace_id, flow_id, contact_id, entered_at) VALUES ($1, $2, 'c', $3)",
            run,
            f"{run}-{name}",
            age,
        )
        await pool.execute(
            "INSERT INTO consent_ledger (workspace_id, contact_id, action, scope, source, ip, user_agent, occurred_at, "
            "recorded_at, dedupe_key) VALUES ($1, $2, 'grant', '*', 'form', '198.51.100.0/24', 'Firefox', $3, $3, $2)",
            run,
            name,
            age,
        )
    # A message still in flight is never deleted, however old.
    await pool.execute(
        "INSERT INTO send_ledger (message_id, workspace_id, contact_id, channel, category, template_id, state, "
        "request, updated_at) VALUES ($1, $2, 'c', 'email', 'marketing', 't', 'deferred', '{}', $3)",
        f"{run}-waiting",
        run,
        OLD,
    )

    removed = await retention_pass(pool, PERIODS, NOW)

    assert await _rows(pool, run) == {
        "send_ledger": [f"{run}-recent", f"{run}-waiting"],
        "message_requests": [f"{run}-recent"],
        "analytics_messages": [f"{run}-recent"],
        "analytics_attributions": [f"{run}-recent"],
        "analytics_entries": [f"{run}-recent"],
    }
    evidence = await pool.fetch(
        "SELECT contact_id, ip, user_agent FROM consent_ledger WHERE workspace_id = $1 ORDER BY 1", run
    )
    assert [tuple(row) for row in evidence] == [("old", None, None), ("recent", "198.51.100.0/24", "Firefox")]
    # (A scheduler other tests run may have done some of it: its pass runs at start-up.)
    assert set(removed) == {*(await _rows(pool, run)), "consent_ledger evidence"}
