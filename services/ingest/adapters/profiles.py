"""Contact profiles in PostgreSQL: merged under a row lock so concurrent updates never lose a field."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from services.ingest.domain.profile import merge_profile


async def merge_into_profile(
    pool: asyncpg.Pool, workspace_id: str, contact_id: str, update: dict[str, Any]
) -> dict[str, Any]:
    """Apply `update` and return the whole profile after it."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "INSERT INTO contacts (workspace_id, contact_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            workspace_id,
            contact_id,
        )
        current = await connection.fetchval(
            "SELECT profile FROM contacts WHERE workspace_id = $1 AND contact_id = $2 FOR UPDATE",
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
