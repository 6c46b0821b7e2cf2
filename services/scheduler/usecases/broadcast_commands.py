"""What the API and the `dripline broadcasts` command do to a broadcast: move it, and tell where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.scheduler.adapters.broadcast_recipients import funnel, hold_waiting, recipient_counts
from services.scheduler.adapters.broadcasts import StoredBroadcast, broadcast, change_state
from services.scheduler.domain.broadcast_pacing import Progress, progress
from services.scheduler.domain.broadcasts import Command, Schedule

CANCELLED = "broadcast cancelled"


@dataclass(frozen=True)
class Standing:
    broadcast: StoredBroadcast
    progress: Progress
    funnel: dict[str, dict[str, int]]  # by template: requested, delivered, opened (people), clicked


async def operate(
    pool: asyncpg.Pool, workspace_id: str, broadcast_id: str, command: Command, now: datetime,
    schedule: Schedule | None = None,
) -> StoredBroadcast | None:  # fmt: skip
    """Apply `command` (None: no such broadcast in this workspace). Cancelling holds those not yet requested.
    Raises `RefusedChange` when the broadcast's state does not allow it."""
    async with pool.acquire() as connection, connection.transaction():
        found = await broadcast(connection, workspace_id, broadcast_id)
        if found is None:
            return None
        spec = found.spec.model_copy(update={"schedule": schedule}) if schedule is not None else None
        moved = await change_state(connection, workspace_id, broadcast_id, command, now, spec)
        if command == "cancel":
            await hold_waiting(connection, workspace_id, broadcast_id, CANCELLED)
    return moved


async def progress_of(pool: asyncpg.Pool, found: StoredBroadcast, workspace_id: str, now: datetime) -> Progress:
    """Where the send stands, without the funnel (which reads each requested recipient's engagement)."""
    counts, last_due = await recipient_counts(pool, workspace_id, found.id)
    return progress(counts, last_due, found.spec.per_hour, now)


async def standing(pool: asyncpg.Pool, found: StoredBroadcast, workspace_id: str, now: datetime) -> Standing:
    done = await progress_of(pool, found, workspace_id, now)
    return Standing(found, done, await funnel(pool, workspace_id, found.id))
