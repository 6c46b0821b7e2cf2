"""Consent as flows see it: entries held for a double opt-in, and expiry of unconfirmed sign-ups.

Ingest and the tracker write `contact_subscriptions` and the consent ledger; the scheduler reads the
subscriptions with the contact (they decide marketing), keeps the flow entries that wait for a
confirmation, and expires sign-ups nobody confirmed in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from services.scheduler.domain import Event

# The first trigger is kept: the flow starts as if it had happened at confirmation.
_HOLD = """
INSERT INTO held_entries (workspace_id, contact_id, flow_id, trigger_event, held_at)
VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT DO NOTHING
"""
_RELEASE = """
DELETE FROM held_entries WHERE workspace_id = $1 AND contact_id = $2
RETURNING flow_id, trigger_event, held_at
"""
_EXPIRE = """
WITH due AS (
    SELECT workspace_id, contact_id, topic FROM contact_subscriptions
    WHERE status = 'pending' AND expires_at <= $1
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
UPDATE contact_subscriptions s SET status = 'expired', updated_at = now()
FROM due WHERE s.workspace_id = due.workspace_id AND s.contact_id = due.contact_id AND s.topic = due.topic
RETURNING s.workspace_id, s.contact_id, s.topic, s.expires_at
"""
_LEDGER = """
INSERT INTO consent_ledger (workspace_id, contact_id, action, scope, source, occurred_at, dedupe_key)
SELECT w, c, 'expire', t, 'double_opt_in', $4, 'expire:' || t || ':' || e
FROM unnest($1::text[], $2::text[], $3::text[], $5::text[]) AS x(w, c, t, e)
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""


@dataclass(frozen=True)
class HeldEntry:
    flow_id: str
    trigger: Event
    held_at: datetime


async def hold_entry(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, flow_id: str, trigger: Event, at: datetime
) -> bool:
    """Keep a trigger until confirmation; False when one was already held for this flow."""
    status = await connection.execute(
        _HOLD, workspace_id, contact_id, flow_id, orjson.dumps(trigger.model_dump(mode="json")).decode(), at
    )
    return str(status).endswith(" 1")


async def release_held(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> list[HeldEntry]:
    rows = await connection.fetch(_RELEASE, workspace_id, contact_id)
    return [
        HeldEntry(row["flow_id"], Event.model_validate(orjson.loads(row["trigger_event"])), row["held_at"])
        for row in sorted(rows, key=lambda r: (r["held_at"], r["flow_id"]))
    ]


async def expire_unconfirmed(connection: asyncpg.Connection, now: datetime, limit: int = 1000) -> int:
    """Pending sign-ups past `expires_at` become `expired`, with an `expire` ledger entry each, and the
    flow entries they held are dropped. Returns how many subscriptions expired."""
    rows = await connection.fetch(_EXPIRE, now, limit)
    if not rows:
        return 0
    workspaces = [row["workspace_id"] for row in rows]
    contacts = [row["contact_id"] for row in rows]
    await connection.execute(
        _LEDGER,
        workspaces,
        contacts,
        [row["topic"] for row in rows],
        now,
        [f"{row['contact_id']}:{row['expires_at'].isoformat()}" for row in rows],
    )
    await connection.execute(
        "DELETE FROM held_entries h USING unnest($1::text[], $2::text[]) AS x(w, c) "
        "WHERE h.workspace_id = x.w AND h.contact_id = x.c",
        workspaces,
        contacts,
    )
    return len(rows)
