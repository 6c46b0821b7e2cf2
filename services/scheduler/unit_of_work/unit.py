"""A unit of work: one PostgreSQL transaction holding state changes, timers and outgoing records.

Everything the scheduler decides lands in one transaction with the outbox rows that announce it,
so a crash either keeps a step with all its effects or none of them. Once committed, the relay
and the timer loop are nudged so records and near timers do not wait for a poll.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import asyncpg.exceptions as pg

from services.scheduler.adapters.flows import FlowCatalog, FlowHead
from services.scheduler.adapters.message_requests import remember
from services.scheduler.adapters.overrides import with_audience_hours
from services.scheduler.adapters.policy import load_policy
from services.scheduler.adapters.segments import segments_of
from services.scheduler.domain import Segment, WorkspacePolicy
from services.scheduler.unit_of_work.working_set import WorkingSet
from shared.errors import Transient
from shared.kafka.producer import OutgoingRecord
from shared.outbox import enqueue

Clock = Callable[[], datetime]

# Worth another try: lost races between writers and a database that is briefly away.
RETRYABLE = (
    pg.DeadlockDetectedError,
    pg.SerializationError,
    pg.UniqueViolationError,
    pg.ConnectionDoesNotExistError,
    pg.CannotConnectNowError,
    pg.TooManyConnectionsError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Unit:
    connection: asyncpg.Connection
    now: datetime
    catalog: FlowCatalog
    outgoing: list[OutgoingRecord] = field(default_factory=list)
    earliest_timer: datetime | None = None
    contacts: WorkingSet = field(default_factory=WorkingSet)
    _policies: dict[str, WorkspacePolicy] = field(default_factory=dict)
    _heads: dict[str, list[FlowHead]] = field(default_factory=dict)
    _segments: dict[str, list[Segment]] = field(default_factory=dict)

    async def policy(self, workspace_id: str) -> WorkspacePolicy:
        if workspace_id not in self._policies:
            policy = await load_policy(self.connection, workspace_id)
            self._policies[workspace_id] = await with_audience_hours(self.connection, workspace_id, policy)
        return self._policies[workspace_id]

    async def load_heads(self, workspace_ids: list[str]) -> None:
        """Read the flow heads of many workspaces at once (a consumer batch spans several)."""
        missing = [w for w in set(workspace_ids) if w not in self._heads]
        if missing:
            found = await self.catalog.heads(self.connection, missing)
            for workspace_id in missing:
                self._heads[workspace_id] = found.get(workspace_id, [])

    async def load_segments(self, workspace_ids: list[str]) -> None:
        missing = [w for w in set(workspace_ids) if w not in self._segments]
        if missing:
            found = await segments_of(self.connection, missing)
            for workspace_id in missing:
                self._segments[workspace_id] = found.get(workspace_id, [])

    async def segments(self, workspace_id: str) -> list[Segment]:
        await self.load_segments([workspace_id])
        return self._segments[workspace_id]

    async def heads(self, workspace_id: str) -> list[FlowHead]:
        await self.load_heads([workspace_id])
        return self._heads[workspace_id]

    async def head(self, workspace_id: str, flow_id: str) -> FlowHead | None:
        return next((h for h in await self.heads(workspace_id) if h.flow_id == flow_id), None)

    def timer_at(self, at: datetime) -> None:
        if self.earliest_timer is None or at < self.earliest_timer:
            self.earliest_timer = at


@dataclass
class Units:
    """Opens units on the pool; tells the relay and the timer loop what a commit added."""

    pool: asyncpg.Pool
    catalog: FlowCatalog
    clock: Clock = system_clock
    on_records: Callable[[], None] = lambda: None
    on_timer: Callable[[datetime], None] = lambda at: None

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Unit]:
        """A unit in a fresh transaction; retryable database failures surface as `Transient`."""
        try:
            async with self.pool.acquire() as connection, connection.transaction():
                unit = Unit(connection, self.clock(), self.catalog)
                yield unit
                await unit.contacts.flush(connection)
                await enqueue(connection, unit.outgoing)
                await remember(connection, unit.outgoing)  # until the sender's ledger has them (reconciliation)
        except RETRYABLE as error:
            raise Transient(f"database: {error!r}") from error
        # Committed: the relay sends the records now, rather than at its next poll.
        if unit.outgoing:
            self.on_records()
        if unit.earliest_timer is not None:
            self.on_timer(unit.earliest_timer)
