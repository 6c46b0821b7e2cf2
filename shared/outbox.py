"""The transactional outbox: records written in the same transaction as the state they describe,
then relayed to the broker in order, at least once.

The broker has no transactions, so "change state and publish" is made atomic here: a service
writes its rows and its outgoing records in one PostgreSQL transaction (`enqueue`), and the relay
sends committed records later. A crash between send and delete sends a record twice; every
consumer drops duplicates by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence

import asyncpg
import orjson
import structlog

from shared.contract.topics import by_name
from shared.errors import Transient
from shared.kafka.producer import OutgoingRecord, Producer

log = structlog.get_logger(__name__)

# One relay at a time across replicas keeps records in outbox order on the broker.
RELAY_LOCK = 0x6F7574626F78

_INSERT = """
INSERT INTO outbox (topic, key, value, headers)
SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[])
"""
# From just past the last id relayed: starting at the table's head would walk the index entries
# of every row deleted since the last vacuum, milliseconds per round when the outbox is busy.
_CLAIM = "SELECT id, topic, key, value, headers FROM outbox WHERE id > $2 ORDER BY id LIMIT $1"


async def enqueue(connection: asyncpg.Connection, records: Sequence[OutgoingRecord]) -> None:
    """Add records inside the caller's transaction; they reach the broker only if it commits."""
    if not records:
        return
    await connection.execute(
        _INSERT,
        [record.topic.name for record in records],
        [record.key for record in records],
        [record.value for record in records],
        [orjson.dumps([[name, value.decode()] for name, value in record.headers]).decode() for record in records],
    )


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def _record(row: asyncpg.Record) -> OutgoingRecord:
    headers = [(str(name), str(value).encode()) for name, value in orjson.loads(row["headers"])]
    return OutgoingRecord(by_name(row["topic"]), row["key"], row["value"], headers)


class OutboxRelay:
    """Moves outbox rows to the broker in id order, in batches; wakes on `notify()` or every poll."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: Producer,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        retry_seconds: float = 1.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._batch_size = batch_size
        self._poll = poll_seconds
        self._retry = retry_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.relayed = 0
        # Ids are handed out at insert, not at commit, so a row can commit below the last id relayed:
        # every poll interval a round sweeps from the start for such rows.
        self._after = 0
        self._swept_at = -math.inf

    def notify(self) -> None:
        """Something was committed to the outbox in this process: relay it without waiting for the poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, flush_seconds: float = 5.0) -> None:
        """Relay what is waiting (within `flush_seconds`), then stop; what is left goes on the next start."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), flush_seconds)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def relay_once(self) -> int:
        """Send one batch; returns how many records went out (0: nothing waiting, or another replica relays)."""
        async with self._pool.acquire() as connection, connection.transaction():
            if not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK):
                return 0
            now = _loop_time()
            if now - self._swept_at >= self._poll:
                self._after, self._swept_at = 0, now
            rows = await connection.fetch(_CLAIM, self._batch_size, self._after)
            if not rows:
                return 0
            await self._producer.send_all([_record(row) for row in rows])
            await connection.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [row["id"] for row in rows])
        self._after = rows[-1]["id"]
        self.relayed += len(rows)
        return len(rows)

    async def _run(self) -> None:
        while True:
            # Cleared before the round, not after: a commit that nudges during the round is not lost.
            self._wake.clear()
            try:
                sent = await self.relay_once()
            except (Transient, OSError, asyncpg.PostgresError) as error:
                log.warning("outbox.retry", reason=str(error))
                if self._stopping:
                    return
                await asyncio.sleep(self._retry)
                continue
            if sent == self._batch_size:
                continue
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
