"""Reading one contact for people: found by an identifier's hash; profile, subscriptions, consent history, timeline."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from shared.consent import store as consent

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


# The scheduler's customer facts as stored (engagement and the 30-day message count are worked out when read
# by conditions, so they are not here).
_FACTS = """
SELECT first_purchase_at, last_purchase_at, order_count, spent, last_order_products, last_open_at, last_click_at,
       last_seen_at FROM contact_facts WHERE workspace_id = $1 AND contact_id = $2
"""
_CONTACT_OF = "SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND kind = $2 AND value_hash = $3"


async def contact_of(connection: asyncpg.Connection, workspace_id: str, kind: str, value_hash: bytes) -> str | None:
    """The contact an identifier's hash belongs to in this workspace, if any."""
    found: str | None = await connection.fetchval(_CONTACT_OF, workspace_id, kind, value_hash)
    return found


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
    subscriptions = await consent.subscriptions_in_detail(connection, workspace_id, contact_id)
    history = await consent.consent_history(connection, workspace_id, contact_id)
    timeline: list[asyncpg.Record] = []
    if all([await _table_exists(connection, t) for t in ("contact_history", "send_ledger", "enrollments")]):
        timeline = list(await connection.fetch(_TIMELINE, workspace_id, contact_id, timeline_limit))
    facts = (
        await connection.fetchrow(_FACTS, workspace_id, contact_id)
        if await _table_exists(connection, "contact_facts")
        else None
    )
    return {
        "contact_id": contact_id,
        "profile": json.loads(profile),
        "facts": _facts(facts),
        "subscriptions": [dict(row) for row in subscriptions],
        "consent_history": [dict(row) for row in history],
        "timeline": [dict(row) for row in timeline],
    }


def _facts(row: asyncpg.Record | None) -> dict[str, Any]:
    if row is None:
        return {}
    found = {key: value for key, value in row.items() if value is not None}
    for key in ("spent", "last_order_products"):
        found[key] = json.loads(found[key]) if key in found else None
    return {key: value for key, value in found.items() if value not in (None, [], {})}
