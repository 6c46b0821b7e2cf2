"""Event ids a consumer has handled: claiming them in the handling transaction makes a replay harmless."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

_CLAIM = """
INSERT INTO processed_events (consumer, workspace_id, event_id)
SELECT $1, * FROM unnest($2::text[], $3::text[]) ON CONFLICT DO NOTHING
RETURNING workspace_id, event_id
"""


async def claim_events(
    connection: asyncpg.Connection, consumer: str, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The (workspace, event id) pairs not claimed before by `consumer`; they are claimed now."""
    if not keys:
        return set()
    rows = await connection.fetch(_CLAIM, consumer, [key[0] for key in keys], [key[1] for key in keys])
    return {(row["workspace_id"], row["event_id"]) for row in rows}
