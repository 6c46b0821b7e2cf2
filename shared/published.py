"""Named reads across what the scheduler and the sender publish, for checks that need both: the latest
templates, the current flows and the attributes the workspace's contacts were seen with.

Each table keeps its one owner (templates: the sender; flows, flow_contacts: the scheduler), who alone
writes it; these are read-only and used when something is published, never on a hot path.
"""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

LATEST_TEMPLATES = """
SELECT DISTINCT ON (template_id) template_id, source FROM templates
WHERE workspace_id = $1 AND template_id = ANY($2::text[])
ORDER BY template_id, version DESC
"""
CURRENT_FLOWS = """
SELECT f.flow_id, v.source FROM flows f
JOIN flow_versions v ON v.workspace_id = f.workspace_id AND v.flow_id = f.flow_id AND v.version = f.current_version
WHERE f.workspace_id = $1 ORDER BY f.flow_id
"""
# A sample of contacts is enough to know the attributes in use; it keeps a publish quick in a big workspace.
SEEN_ATTRIBUTES = """
SELECT DISTINCT k FROM (
    SELECT seen_attributes FROM flow_contacts WHERE workspace_id = $1 AND seen_attributes IS NOT NULL LIMIT $2
) AS s, jsonb_object_keys(s.seen_attributes) AS k
"""
ATTRIBUTE_SAMPLE = 20_000

Connection: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def latest_template_sources(connection: Connection, workspace_id: str, template_ids: list[str]) -> dict[str, str]:
    """Template id -> the source of its latest version, for those that exist."""
    if not template_ids:
        return {}
    rows = await connection.fetch(LATEST_TEMPLATES, workspace_id, template_ids)
    return {row["template_id"]: row["source"] for row in rows}


async def current_flow_sources(connection: Connection, workspace_id: str) -> list[tuple[str, str]]:
    """(flow id, source of its current version) of every published flow."""
    return [(row["flow_id"], row["source"]) for row in await connection.fetch(CURRENT_FLOWS, workspace_id)]


async def known_attributes(connection: Connection, workspace_id: str) -> frozenset[str] | None:
    """The attributes the workspace's contacts were seen with; None while none were seen (nothing to judge by)."""
    rows = await connection.fetch(SEEN_ATTRIBUTES, workspace_id, ATTRIBUTE_SAMPLE)
    return frozenset(row["k"] for row in rows) or None


TEMPLATE_IDS = "SELECT DISTINCT template_id FROM templates WHERE workspace_id = $1 ORDER BY template_id"


async def template_ids(connection: Connection, workspace_id: str) -> list[str]:
    """Every template the workspace has published, for a form to offer."""
    return [row["template_id"] for row in await connection.fetch(TEMPLATE_IDS, workspace_id)]
