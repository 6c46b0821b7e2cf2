"""The contacts a segment backfill walks, page by page, and its progress (`segment_backfills`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import asyncpg

Pool: TypeAlias = asyncpg.Connection | asyncpg.Pool

_PAGE = """
SELECT contact_id FROM contacts WHERE workspace_id = $1 AND contact_id > $2 ORDER BY contact_id LIMIT $3
"""
_START = """
INSERT INTO segment_backfills (workspace_id, segment_id, total, done, members, started_at, finished_at)
VALUES ($1, $2, (SELECT count(*) FROM contacts WHERE workspace_id = $1), 0, 0, $3, NULL)
ON CONFLICT (workspace_id, segment_id) DO UPDATE SET total = EXCLUDED.total, done = 0, members = 0,
    started_at = EXCLUDED.started_at, finished_at = NULL
RETURNING total
"""
_PROGRESS = """
UPDATE segment_backfills SET done = done + $3 WHERE workspace_id = $1 AND segment_id = $2 AND started_at = $4
"""
_FINISH = """
UPDATE segment_backfills SET finished_at = $4, members = (
    SELECT count(*) FROM segment_members WHERE workspace_id = $1 AND segment_id = $2
) WHERE workspace_id = $1 AND segment_id = $2 AND started_at = $3
"""
_READ = """
SELECT total, done, members, started_at, finished_at FROM segment_backfills WHERE workspace_id = $1 AND segment_id = $2
"""
_UNFINISHED = """
SELECT workspace_id, segment_id, started_at, done FROM segment_backfills WHERE finished_at IS NULL AND segment_id <> '*'
"""
# Workspaces with segments that move with time whose last backfill or sweep started before $1.
_DUE_FOR_SWEEP = """
SELECT s.workspace_id FROM segments s
LEFT JOIN segment_backfills b ON b.workspace_id = s.workspace_id
WHERE s.condition ~ '\\mnow\\M|history\\.|engagement'
GROUP BY s.workspace_id HAVING coalesce(max(b.started_at), '-infinity') < $1
"""


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    members: int
    started_at: datetime
    finished_at: datetime | None


async def contact_page(connection: Pool, workspace_id: str, after: str, size: int) -> list[str]:
    """The next `size` contact ids of the workspace after `after` (keyset order: stable while contacts come and go)."""
    return [row["contact_id"] for row in await connection.fetch(_PAGE, workspace_id, after, size)]


async def contact_count(connection: Pool, workspace_id: str) -> int:
    return int(await connection.fetchval("SELECT count(*) FROM contacts WHERE workspace_id = $1", workspace_id))


async def start_backfill(connection: Pool, workspace_id: str, segment_id: str, at: datetime) -> int:
    """A new run (replacing an earlier one's progress); returns how many contacts it will judge."""
    return int(await connection.fetchval(_START, workspace_id, segment_id, at))


async def note_progress(connection: Pool, workspace_id: str, segment_id: str, done: int, started_at: datetime) -> None:
    await connection.execute(_PROGRESS, workspace_id, segment_id, done, started_at)


async def finish_backfill(
    connection: Pool, workspace_id: str, segment_id: str, started_at: datetime, at: datetime
) -> None:
    await connection.execute(_FINISH, workspace_id, segment_id, started_at, at)


async def backfill_progress(connection: Pool, workspace_id: str, segment_id: str) -> Progress | None:
    row = await connection.fetchrow(_READ, workspace_id, segment_id)
    return Progress(**dict(row)) if row else None


async def workspaces_due_for_sweep(connection: Pool, before: datetime) -> list[str]:
    """Workspaces whose segments name `now`, history or engagement and whose contacts were last all judged
    (a backfill or a sweep) before `before`: what the daily sweep walks. Kept in the table, so a restart
    does not put the sweep off, and a second replica finds the work done."""
    return [row["workspace_id"] for row in await connection.fetch(_DUE_FOR_SWEEP, before)]


async def unfinished_backfills(connection: Pool) -> dict[tuple[str, str], tuple[datetime, int]]:
    """(workspace, segment) -> (started at, contacts done) of every segment's backfill that has not finished."""
    return {
        (row["workspace_id"], row["segment_id"]): (row["started_at"], row["done"])
        for row in await connection.fetch(_UNFINISHED)
    }
