"""Reading one contact for people: profile, subscriptions, consent history and a timeline."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

_TIMELINE = """
SELECT occurred_at AS at, 'event' AS kind, type AS what, message_id, machine, NULL::text AS detail
  FROM contact_history WHERE workspace_id = $1 AND contact_id = $2
UNION ALL
SELECT created_at, 'message', template_id, message_id, false, state || coalesce(' (' || last_reply || ')', '')
  FROM send_ledger WHERE workspace_id = $1 AND contact_id = $2
UNION ALL
SELECT entered_at, 'flow', flow_id || ' v' || flow_version, NULL, false,
       CASE WHEN active THEN 'in progress' ELSE 'finished' END
  FROM enrollments WHERE workspace_id = $1 AND contact_id = $2
ORDER BY 1 DESC LIMIT $3
"""


async def _table_exists(connection: asyncpg.Connection, name: str) -> bool:
    return bool(await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", name))


async def contact_overview(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, *, timeline_limit: int = 200
) -> dict[str, Any] | None:
    profile = await connection.fetchval(
        "SELECT profile FROM contacts WHERE workspace_id = $1 AND contact_id = $2", workspace_id, contact_id
    )
    if profile is None:
        return None
    subscriptions = await connection.fetch(
        "SELECT topic, status, expires_at, updated_at FROM contact_subscriptions "
        "WHERE workspace_id = $1 AND contact_id = $2 ORDER BY topic",
        workspace_id,
        contact_id,
    )
    consent = await connection.fetch(
        "SELECT action, scope, source, ip, user_agent, policy_version, occurred_at, recorded_at FROM consent_ledger "
        "WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id",
        workspace_id,
        contact_id,
    )
    timeline: list[asyncpg.Record] = []
    if all([await _table_exists(connection, t) for t in ("contact_history", "send_ledger", "enrollments")]):
        timeline = list(await connection.fetch(_TIMELINE, workspace_id, contact_id, timeline_limit))
    return {
        "contact_id": contact_id,
        "profile": json.loads(profile),
        "subscriptions": [dict(row) for row in subscriptions],
        "consent_history": [dict(row) for row in consent],
        "timeline": [dict(row) for row in timeline],
    }
