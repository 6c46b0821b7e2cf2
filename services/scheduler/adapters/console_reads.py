"""What the console's pages read, as named queries over the flow, enrollment, analytics and contact tables.

Every query is by workspace and served by an index (enrollments' live-by-flow and by-contact ones,
analytics by contact, contact history by contact, the identifier hashes' key), so a page costs the same
with 100,000 contacts as with ten. People are found through the identifier hashes, never by profile.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, TypeAlias

import asyncpg

Db: TypeAlias = "asyncpg.Pool | asyncpg.Connection"

_ACTIVE_BY_FLOW = (
    "SELECT flow_id, count(*)::bigint AS n FROM enrollments WHERE workspace_id = $1 AND active GROUP BY flow_id"
)
_ENTERED_ON = (
    "SELECT flow_id, sum(entered)::bigint AS n FROM analytics_daily WHERE workspace_id = $1 AND day = $2 "
    "GROUP BY flow_id"
)
_WAITING_BY_STEP = (
    "SELECT state->>'step_id' AS step_id, count(*)::bigint AS n FROM enrollments "
    "WHERE workspace_id = $1 AND flow_id = $2 AND active GROUP BY 1"
)
# Live enrollments parked at a send because the workspace's policy said "not yet" (grace, quiet hours, a cap).
_HELD_BY_STEP = (
    "SELECT state->>'step_id' AS step_id, count(*)::bigint AS n FROM enrollments "
    "WHERE workspace_id = $1 AND flow_id = $2 AND active AND state->'waiting'->>'kind' = 'policy' GROUP BY 1"
)
# Messages the sender held back (suppressed), by step and the reason it gave: found through analytics'
# flow index (the report's `suppressed`), each reason read from the send ledger by its key.
_HELD_REASONS = """
SELECT m.step_id, coalesce(s.last_reply, 'suppressed') AS reason, count(*)::bigint AS n
  FROM analytics_messages m LEFT JOIN send_ledger s ON s.message_id = m.message_id
 WHERE m.workspace_id = $1 AND m.flow_id = $2 AND m.suppressed_at IS NOT NULL
 GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 50
"""
# Enrollments a goal ended, by goal (the engine finishes them as converted with reason `goal <id>`).
_CONVERSIONS = (
    "SELECT substr(state->>'exit_reason', 6) AS goal_id, count(*)::bigint AS n FROM enrollments "
    "WHERE workspace_id = $1 AND flow_id = $2 AND NOT active AND state->>'status' = 'converted' GROUP BY 1"
)
_CONTACT_OF = "SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND kind = $2 AND value_hash = $3"
_PROFILE = "SELECT profile, created_at, updated_at FROM contacts WHERE workspace_id = $1 AND contact_id = $2"
_ENROLLMENTS = (
    "SELECT flow_id, flow_version, active, entered_at, updated_at, "
    "coalesce(state->>'status', CASE WHEN active THEN 'active' ELSE 'finished' END) AS status, "
    "state->>'step_id' AS step_id, state->>'exit_reason' AS exit_reason FROM enrollments "
    "WHERE workspace_id = $1 AND contact_id = $2 ORDER BY entered_at DESC LIMIT $3"
)
_MESSAGES = """
SELECT m.message_id, m.flow_id, m.step_id, m.channel, m.requested_at, m.sent_at, m.bounced_at, m.failed_at,
       m.suppressed_at, m.opened_at, m.clicked_at, m.opens, m.clicks, m.machine_opens, m.machine_clicks,
       m.unsubscribed_at, m.untracked_sent_at, s.template_id, s.subject, s.state
  FROM analytics_messages m LEFT JOIN send_ledger s ON s.message_id = m.message_id
 WHERE m.workspace_id = $1 AND m.contact_id = $2
 ORDER BY m.requested_at DESC NULLS LAST LIMIT $3
"""
# One message of the contact as the sender's ledger keeps it: what to render it again from.
_SENT_MESSAGE = """
SELECT message_id, channel, template_id, subject, state, created_at, request->'variables' AS variables,
       request->'context' AS context
  FROM send_ledger WHERE message_id = $3 AND workspace_id = $1 AND contact_id = $2
"""
_EVENTS = (
    "SELECT occurred_at, type, message_id, machine FROM contact_history WHERE workspace_id = $1 AND contact_id = $2 "
    "ORDER BY occurred_at DESC LIMIT $3"
)


async def _counts(db: Db, sql: str, *args: Any) -> dict[str, int]:
    return {row[0]: row["n"] for row in await db.fetch(sql, *args) if row[0]}


async def active_by_flow(db: Db, workspace_id: str) -> dict[str, int]:
    return await _counts(db, _ACTIVE_BY_FLOW, workspace_id)


async def entered_on(db: Db, workspace_id: str, day: date) -> dict[str, int]:
    return await _counts(db, _ENTERED_ON, workspace_id, day)


async def waiting_by_step(db: Db, workspace_id: str, flow_id: str) -> dict[str, int]:
    return await _counts(db, _WAITING_BY_STEP, workspace_id, flow_id)


async def held_by_step(db: Db, workspace_id: str, flow_id: str) -> dict[str, int]:
    return await _counts(db, _HELD_BY_STEP, workspace_id, flow_id)


async def held_reasons(db: Db, workspace_id: str, flow_id: str) -> list[dict[str, Any]]:
    return await _rows(db, _HELD_REASONS, workspace_id, flow_id)


async def conversions_by_goal(db: Db, workspace_id: str, flow_id: str) -> dict[str, int]:
    return await _counts(db, _CONVERSIONS, workspace_id, flow_id)


async def contact_of(db: Db, workspace_id: str, kind: str, value_hash: bytes) -> str | None:
    found = await db.fetchval(_CONTACT_OF, workspace_id, kind, value_hash)
    return str(found) if found is not None else None


async def profile(db: Db, workspace_id: str, contact_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await db.fetchrow(_PROFILE, workspace_id, contact_id)
    return row


async def _rows(db: Db, sql: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.fetch(sql, *args)]


async def enrollments_of(db: Db, workspace_id: str, contact_id: str, limit: int) -> list[dict[str, Any]]:
    return await _rows(db, _ENROLLMENTS, workspace_id, contact_id, limit)


async def messages_of(db: Db, workspace_id: str, contact_id: str, limit: int) -> list[dict[str, Any]]:
    return await _rows(db, _MESSAGES, workspace_id, contact_id, limit)


async def events_of(db: Db, workspace_id: str, contact_id: str, limit: int) -> list[dict[str, Any]]:
    return await _rows(db, _EVENTS, workspace_id, contact_id, limit)


async def sent_message(db: Db, workspace_id: str, contact_id: str, message_id: str) -> dict[str, Any] | None:
    """The ledger's row of a message to this contact in this workspace (None for another's or an unknown id)."""
    row = await db.fetchrow(_SENT_MESSAGE, workspace_id, contact_id, message_id)
    if row is None:
        return None
    found = dict(row)
    for field in ("variables", "context"):
        value = found[field]
        found[field] = json.loads(value) if isinstance(value, str) else dict(value or {})
    return found
