"""Enrollments, timers and the per-contact lock every writer takes.

Lock order is what keeps replicas and loops from deadlocking: a transaction first claims timer
rows with SKIP LOCKED (never waits), then takes contact locks in ascending key order, and never
waits for a timer row afterwards (cancels skip rows another transaction has claimed; the engine
ignores a stale timer when it fires).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.scheduler.adapters.stored_state import STATE_COLUMNS, document, state_of
from services.scheduler.domain import EnrollmentState

_LOCK_ALL = "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest($1::bigint[]) AS k ORDER BY 1) AS keys"
_SAVE = """
INSERT INTO enrollments (id, workspace_id, contact_id, flow_id, flow_version, number, state, active, entered_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::jsonb[],
                     $8::bool[], $9::timestamptz[])
ON CONFLICT (id) DO UPDATE SET flow_version = EXCLUDED.flow_version, state = EXCLUDED.state,
    active = EXCLUDED.active, updated_at = now()
"""
_UPDATE = """
UPDATE enrollments e SET flow_version = u.flow_version, state = u.state, active = u.active, updated_at = now()
FROM unnest($1::text[], $2::int[], $3::jsonb[], $4::bool[]) AS u(id, flow_version, state, active)
WHERE e.id = u.id
"""
# The due ids as an array, not `id IN (subquery)`: with many timers due the planner would rather
# hash-join the subquery against a scan of the whole table (every timer, for every batch of 500).
_CLAIM = """
DELETE FROM timers WHERE id = ANY(ARRAY(
    SELECT id FROM timers WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED
)) RETURNING id, kind, workspace_id, contact_id, enrollment_id, flow_id, due_at, failures
"""
_SCHEDULE = """
INSERT INTO timers (id, kind, workspace_id, contact_id, enrollment_id, flow_id, due_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
ON CONFLICT (id) DO UPDATE SET due_at = EXCLUDED.due_at, failures = 0
"""
_CANCEL = """
DELETE FROM timers WHERE id IN (SELECT id FROM timers WHERE id = ANY($1::text[]) FOR UPDATE SKIP LOCKED)
"""


# (id, kind, workspace, contact, enrollment, flow, due_at)
TimerRow = tuple[str, str, str, str, str | None, str | None, datetime]


@dataclass(frozen=True)
class DueTimer:
    id: str
    kind: str  # step | entry
    workspace_id: str
    contact_id: str
    enrollment_id: str | None
    flow_id: str | None
    due_at: datetime
    failures: int


def columns_of(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows as the column arrays an `unnest` insert takes."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def contact_key(workspace_id: str, contact_id: str) -> int:
    """A signed 64-bit advisory-lock key for one contact."""
    digest = hashlib.blake2b(f"{workspace_id}\x1f{contact_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_contacts(connection: asyncpg.Connection, contacts: Iterable[tuple[str, str]]) -> None:
    """Serialise all work on these contacts until the transaction ends (ascending order: no deadlocks)."""
    keys = sorted({contact_key(workspace_id, contact_id) for workspace_id, contact_id in contacts})
    if keys:
        await connection.execute(_LOCK_ALL, keys)


async def enrollment(connection: asyncpg.Connection, enrollment_id: str) -> EnrollmentState | None:
    row = await connection.fetchrow(f"SELECT {STATE_COLUMNS} FROM enrollments WHERE id = $1", enrollment_id)
    return state_of(row) if row else None


async def contact_enrollments(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str
) -> list[dict[str, object]]:
    rows = await connection.fetch(
        f"SELECT {STATE_COLUMNS} FROM enrollments WHERE workspace_id = $1 AND contact_id = $2 ORDER BY entered_at, id",
        workspace_id,
        contact_id,
    )
    return [state_of(row).model_dump(mode="json") for row in rows]


def _save_args(state: EnrollmentState) -> tuple[object, ...]:
    return (
        state.enrollment_id, state.workspace_id, state.contact_id, state.flow_id, state.flow_version,
        state.number, document(state), state.active, state.entered_at,
    )  # fmt: skip


async def save_enrollment(connection: asyncpg.Connection, state: EnrollmentState) -> None:
    await save_enrollments(connection, [state])


async def save_enrollments(connection: asyncpg.Connection, states: Sequence[EnrollmentState]) -> None:
    """Many enrollments (distinct ids) in one statement, written in the order given (as one by one would)."""
    if states:
        await connection.execute(_SAVE, *columns_of([_save_args(state) for state in states], 9))


async def update_enrollments(connection: asyncpg.Connection, states: Sequence[EnrollmentState]) -> None:
    """Enrollments known to be stored (distinct ids), in one statement: cheaper than the upsert's insert attempt."""
    if states:
        rows = [(state.enrollment_id, state.flow_version, document(state), state.active) for state in states]
        await connection.execute(_UPDATE, *columns_of(rows, 4))


async def live_in_flow(
    connection: asyncpg.Connection, workspace_id: str, flow_id: str, after_id: str, limit: int, *, paused_only: bool
) -> list[tuple[str, str]]:
    """A page of (enrollment id, contact id) of the flow's live enrollments, for resume and migrate passes."""
    paused = "AND (state->>'paused')::boolean" if paused_only else ""
    rows = await connection.fetch(
        f"SELECT id, contact_id FROM enrollments WHERE workspace_id = $1 AND flow_id = $2 AND active "
        f"AND id > $3 {paused} ORDER BY id LIMIT $4",
        workspace_id,
        flow_id,
        after_id,
        limit,
    )
    return [(row["id"], row["contact_id"]) for row in rows]


async def schedule_timers(connection: asyncpg.Connection, timers: Sequence[TimerRow]) -> None:
    """Re-scheduling an id moves it; of one id given twice the last wins. One statement for all of them."""
    if timers:
        latest = list({timer[0]: timer for timer in timers}.values())  # one statement may not touch a row twice
        await connection.execute(_SCHEDULE, *columns_of(latest, 7))


async def cancel_timers(connection: asyncpg.Connection, timer_ids: Sequence[str]) -> None:
    if timer_ids:
        await connection.execute(_CANCEL, list(timer_ids))


async def claim_due(connection: asyncpg.Connection, now: datetime, limit: int) -> list[DueTimer]:
    """Delete and return due timers; other replicas skip them. Rolled back, they are due again."""
    return [DueTimer(**dict(row)) for row in await connection.fetch(_CLAIM, now, limit)]


async def postpone(connection: asyncpg.Connection, timer_id: str, until: datetime) -> None:
    await connection.execute("UPDATE timers SET due_at = $2, failures = failures + 1 WHERE id = $1", timer_id, until)


async def next_due(connection: asyncpg.Connection | asyncpg.Pool) -> datetime | None:
    value = await connection.fetchval("SELECT min(due_at) FROM timers")
    return value if isinstance(value, datetime) else None


async def live_per_version(connection: asyncpg.Connection, workspace_id: str, flow_id: str) -> dict[int, int]:
    """How many live enrollments each version of a flow holds."""
    rows = await connection.fetch(
        "SELECT flow_version, count(*) AS n FROM enrollments WHERE workspace_id = $1 AND flow_id = $2 AND active "
        "GROUP BY flow_version ORDER BY flow_version",
        workspace_id,
        flow_id,
    )
    return {row["flow_version"]: row["n"] for row in rows}


async def contact_ids_page(connection: asyncpg.Connection, workspace_id: str, after_id: str, limit: int) -> list[str]:
    """A page of the workspace's contact ids after `after_id`, for passes over every contact."""
    rows = await connection.fetch(
        "SELECT contact_id FROM contacts WHERE workspace_id = $1 AND contact_id > $2 ORDER BY contact_id LIMIT $3",
        workspace_id,
        after_id,
        limit,
    )
    return [row["contact_id"] for row in rows]
