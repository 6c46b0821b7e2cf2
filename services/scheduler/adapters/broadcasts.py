"""Broadcasts in PostgreSQL (`broadcasts`): what each one says, its state, its throttle's bucket.

A change of state reads the row `FOR UPDATE` and asks the domain's `next_state`, so two callers (the API
and the broadcast loop of any replica) never both move one broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from services.scheduler.domain.broadcasts import Broadcast, Command, RefusedChange, State, next_state, starts_at

_COLUMNS = (
    "broadcast_id, spec, state, starts_at, frozen_at, resolved_at, resolve_cursor, tokens, paced_at, finished_at, "
    "test_ends_at, winner, decision"
)
_CREATE = """
INSERT INTO broadcasts (workspace_id, broadcast_id, spec, state) VALUES ($1, $2, $3::jsonb, 'draft')
ON CONFLICT (workspace_id, broadcast_id) DO UPDATE SET spec = EXCLUDED.spec, updated_at = now()
WHERE broadcasts.state = 'draft'
RETURNING broadcast_id
"""
_ONE = f"SELECT {_COLUMNS} FROM broadcasts WHERE workspace_id = $1 AND broadcast_id = $2"
_ALL = f"SELECT {_COLUMNS} FROM broadcasts WHERE workspace_id = $1 ORDER BY created_at DESC, broadcast_id LIMIT $2"
_MOVE = """
UPDATE broadcasts SET state = $3, spec = $4::jsonb, starts_at = $5, finished_at = $6, updated_at = now()
WHERE workspace_id = $1 AND broadcast_id = $2
"""
# Scheduled ones whose time has come, and those sending: the broadcast loop's work, oldest first.
_LIVE = """
SELECT workspace_id, broadcast_id FROM broadcasts
WHERE (state = 'scheduled' AND starts_at <= $1) OR state = 'sending'
ORDER BY starts_at, workspace_id, broadcast_id
"""
_LOCK = f"SELECT {_COLUMNS} FROM broadcasts WHERE workspace_id = $1 AND broadcast_id = $2 FOR UPDATE SKIP LOCKED"
_PACED = "UPDATE broadcasts SET tokens = $3, paced_at = $4 WHERE workspace_id = $1 AND broadcast_id = $2"
_FROZEN = """
UPDATE broadcasts SET frozen_at = COALESCE(frozen_at, now()), resolve_cursor = $3,
       resolved_at = CASE WHEN $4 THEN now() END, test_ends_at = CASE WHEN $4 THEN $5::timestamptz END
WHERE workspace_id = $1 AND broadcast_id = $2
RETURNING frozen_at
"""
_DECIDED = "UPDATE broadcasts SET winner = $3, decision = $4::jsonb WHERE workspace_id = $1 AND broadcast_id = $2"


@dataclass(frozen=True)
class StoredBroadcast:
    spec: Broadcast
    state: State
    starts_at: datetime | None
    frozen_at: datetime | None
    resolved_at: datetime | None
    resolve_cursor: str | None
    tokens: float
    paced_at: datetime | None
    finished_at: datetime | None
    test_ends_at: datetime | None = None
    winner: str | None = None
    decision: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.spec.id


def _stored(row: asyncpg.Record) -> StoredBroadcast:
    return StoredBroadcast(
        Broadcast.model_validate_json(row["spec"]), row["state"], row["starts_at"], row["frozen_at"],
        row["resolved_at"], row["resolve_cursor"], row["tokens"], row["paced_at"], row["finished_at"],
        row["test_ends_at"], row["winner"], orjson.loads(row["decision"]) if row["decision"] else None,
    )  # fmt: skip


async def create_broadcast(executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, spec: Broadcast) -> bool:
    """Create or change a draft; False when a broadcast of this id has left the draft state."""
    return await executor.fetchval(_CREATE, workspace_id, spec.id, spec.model_dump_json()) is not None


async def broadcast(
    executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, broadcast_id: str
) -> StoredBroadcast | None:
    row = await executor.fetchrow(_ONE, workspace_id, broadcast_id)
    return _stored(row) if row else None


async def broadcasts(
    executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, limit: int
) -> list[StoredBroadcast]:
    return [_stored(row) for row in await executor.fetch(_ALL, workspace_id, limit)]


async def change_state(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, command: Command, now: datetime,
    spec: Broadcast | None = None,
) -> StoredBroadcast | None:  # fmt: skip
    """Move a broadcast (None: no such broadcast); `spec` replaces what it says (scheduling sets the
    schedule). Raises `RefusedChange` when its state does not allow the command."""
    row = await connection.fetchrow(_ONE + " FOR UPDATE", workspace_id, broadcast_id)
    if row is None:
        return None
    found = _stored(row)
    spec = spec or found.spec
    state = next_state(found.state, command, resolved=found.resolved_at is not None)
    start = found.starts_at
    if command == "schedule":
        if spec.schedule is None:
            raise RefusedChange("schedule: say when to send (now, at, local_time or best_time)")
        start = starts_at(spec.schedule, now)
    finished = now if state in ("sent", "cancelled") else None
    await connection.execute(_MOVE, workspace_id, broadcast_id, state, spec.model_dump_json(), start, finished)
    return replace(found, spec=spec, state=state, starts_at=start, finished_at=finished)


async def live_broadcasts(executor: asyncpg.Connection | asyncpg.Pool, now: datetime) -> list[tuple[str, str]]:
    """(workspace, broadcast) of those due to start or sending."""
    return [(row["workspace_id"], row["broadcast_id"]) for row in await executor.fetch(_LIVE, now)]


async def lock_broadcast(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str
) -> StoredBroadcast | None:
    """The broadcast, locked for this transaction; None when another replica holds it (or it is gone)."""
    row = await connection.fetchrow(_LOCK, workspace_id, broadcast_id)
    return _stored(row) if row else None


async def paced(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, tokens: float, at: datetime
) -> None:
    await connection.execute(_PACED, workspace_id, broadcast_id, tokens, at)


async def resolved_up_to(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, cursor: str | None, done: bool,
    test_ends_at: datetime | None = None,
) -> None:  # fmt: skip
    """Remember how far resolution went (the first call freezes the audience's time); once `done`, when a
    test then send picks its winner."""
    await connection.fetchval(_FROZEN, workspace_id, broadcast_id, cursor, done, test_ends_at)


async def decided(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, winner: str, decision: dict[str, Any]
) -> None:
    await connection.execute(_DECIDED, workspace_id, broadcast_id, winner, orjson.dumps(decision).decode())


async def frozen_at(connection: asyncpg.Connection, workspace_id: str, broadcast_id: str) -> datetime:
    """When the audience was frozen, freezing it now if it was not yet."""
    found: datetime = await connection.fetchval(
        "UPDATE broadcasts SET frozen_at = COALESCE(frozen_at, now()) WHERE workspace_id = $1 AND broadcast_id = $2 "
        "RETURNING frozen_at",
        workspace_id,
        broadcast_id,
    )
    return found
