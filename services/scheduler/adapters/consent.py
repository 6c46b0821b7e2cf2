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

from services.scheduler.adapters.policy import load_policy
from services.scheduler.domain import Event, Flow
from shared.consent import store as consent
from shared.consent.promise import Cap, TopicPromise, caps_exceed

_TOPIC_PROMISE = "SELECT promise FROM subscription_topics WHERE workspace_id = $1 AND topic = $2"
# The first trigger is kept: the flow starts as if it had happened at confirmation.
_HOLD = """
INSERT INTO held_entries (workspace_id, contact_id, flow_id, trigger_event, held_at)
VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT DO NOTHING
"""
_RELEASE = """
DELETE FROM held_entries WHERE workspace_id = $1 AND contact_id = $2
RETURNING flow_id, trigger_event, held_at
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
    rows = await consent.expire_unconfirmed(connection, now, limit)
    if not rows:
        return 0
    workspaces = [row["workspace_id"] for row in rows]
    contacts = [row["contact_id"] for row in rows]
    await consent.record_expiries(
        connection,
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


async def promise_warnings(pool: asyncpg.Pool, workspace_id: str, flow: Flow) -> list[str]:
    """A marketing flow of a topic that promises how often: a warning when the workspace's caps on marketing
    email would let it write more often than that (the caps count every marketing email)."""
    if flow.category != "marketing" or not flow.topic:
        return []
    raw = await pool.fetchval(_TOPIC_PROMISE, workspace_id, flow.topic)
    if raw is None:
        return []
    promise = TopicPromise.model_validate_json(raw)
    policy = await load_policy(pool, workspace_id)
    caps = [Cap(c.max_messages, c.window) for c in policy.caps if c.channel == "email" and not c.since_signup]
    broken = caps_exceed(promise, caps)
    return [f"topic {flow.topic}: {broken}"] if broken else []
