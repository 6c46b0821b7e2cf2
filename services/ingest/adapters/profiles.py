"""Contact profiles in PostgreSQL: merged under a row lock so concurrent updates never lose a field."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from services.ingest.domain.profile import merge_profile


async def merge_into_profile(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, update: dict[str, Any]
) -> dict[str, Any]:
    """Apply `update` and return the whole profile after it. Run inside the caller's transaction."""
    # The upsert takes the row lock, so concurrent merges of one contact queue up instead of losing fields.
    current = await connection.fetchval(
        "INSERT INTO contacts (workspace_id, contact_id) VALUES ($1, $2) "
        "ON CONFLICT (workspace_id, contact_id) DO UPDATE SET updated_at = now() RETURNING profile",
        workspace_id,
        contact_id,
    )
    merged = merge_profile(json.loads(current), update)
    await connection.execute(
        "UPDATE contacts SET profile = $3::jsonb, updated_at = now() WHERE workspace_id = $1 AND contact_id = $2",
        workspace_id,
        contact_id,
        json.dumps(merged),
    )
    return merged
