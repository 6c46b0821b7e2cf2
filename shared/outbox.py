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

from shared.contract.contacts import contact_key
from shared.errors import Transient
from shared.kafka.producer import OutgoingRecord, Producer
from shared.outbox_frames import FrameError, pack, pack_rows, unpack

log = structlog.get_logger(__name__)

# One relay at a time across replicas keeps records in outbox order on the broker.
RELAY_LOCK = 0x6F7574626F78

_INSERT = "INSERT INTO outbox (record_count, records) SELECT * FROM unnest($1::int[], $2::bytea[])"
# From just past the last id relayed: starting at the table's head would walk the index entries
# of every row deleted since the last vacuum, milliseconds per round when the outbox is busy.
_CLAIM = "SELECT id, records FROM outbox WHERE id > $2 ORDER BY id LIMIT $1"
# Rows whose bytes hold the key: the frames are decoded to be sure, so a false match costs nothing.
_HOLDING = "SELECT id, records FROM outbox WHERE position(convert_to($1, 'UTF8') IN records) > 0 ORDER BY id FOR UPDATE"


async def enqueue(connection: asyncpg.Connection, records: Sequence[OutgoingRecord]) -> None:
    """Add records inside the caller's transaction, a few rows for all of them; they reach the broker
    only if it commits."""
    if not records:
        return
    rows = pack_rows(records)
    await connection.execute(_INSERT, [count for count, _ in rows], [frame for _, frame in rows])


async def drop_waiting(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> int:
    """Take one workspace's contact's records out of the rows still waiting (erasure); returns how many.

    Rows hold many contacts' records, so a row is rewritten without this contact's, or deleted when
    nothing else is left in it. Erasure is rare and the outbox is short, so the rows are found by
    searching their bytes, and the records by their key and the workspace their value names.
    """
    dropped = 0
    for row in await connection.fetch(_HOLDING, contact_id):
        records = unpack(row["records"])
        kept = [record for record in records if not _about(record, workspace_id, contact_id)]
        if len(kept) == len(records):
            continue
        dropped += len(records) - len(kept)
        if kept:
            await connection.execute(
                "UPDATE outbox SET record_count = $2, records = $3 WHERE id = $1", row["id"], len(kept), pack(kept)
            )
        else:
            await connection.execute("DELETE FROM outbox WHERE id = $1", row["id"])
    return dropped


def _about(record: OutgoingRecord, workspace_id: str, contact_id: str) -> bool:
    """Whether a record is about this workspace's contact: keyed `workspace/contact` (contacts.changes), or
    keyed by the contact id with a value of this workspace (every other topic)."""
    if record.key == contact_key(workspace_id, contact_id):
        return True
    if record.key != contact_id or record.value is None:
        return False
    try:
        value = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, dict) and value.get("workspace_id") == workspace_id


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def _records(rows: Sequence[asyncpg.Record]) -> tuple[list[OutgoingRecord], list[int]]:
    """The records of readable rows, in order, and the ids of the rows they came from.

    A row that is not a frame this code wrote stays in the table, logged on every sweep, rather
    than stopping the relay or being deleted unsent.
    """
    records: list[OutgoingRecord] = []
    ids: list[int] = []
    for row in rows:
        try:
            records += unpack(row["records"])
        except FrameError as error:
            log.error("outbox.unreadable_row", id=row["id"], reason=str(error))
            continue
        ids.append(row["id"])
    return records, ids


class OutboxRelay:
    """Moves outbox rows to the broker in id order, in rounds of about `batch_size` records, whole rows;
    wakes on `notify()` or every poll."""

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
        self.relayed = 0
        # Ids are handed out at insert, not at commit, so a row can commit below the last id relayed:
        # every poll interval a round sweeps from the start for such rows.
        self._after = 0
        self._swept_at = -math.inf
        # Rows hold from one record to a few dozen, so the rows a round reads are sized from the
        # records per row of the last round: about `batch_size` records, without reading a count
        # over hundreds of rows first (each row is most of a page).
        self._rows = 1
        self._more = False

    def notify(self) -> None:
        """Something was committed to the outbox in this process: relay it without waiting for the poll."""
        self._wake.set()

    def finish(self) -> None:
        """Relay what is waiting, then let `run` return (the service's supervisor waits for it, up to its grace)."""
        self._stopping = True
        self._wake.set()

    async def relay_once(self) -> int:
        """Send one round; returns how many records went out (0: nothing waiting, or another replica relays)."""
        async with self._pool.acquire() as connection, connection.transaction():
            if not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK):
                return 0
            now = _loop_time()
            if now - self._swept_at >= self._poll:
                self._after, self._swept_at = 0, now
            rows = await connection.fetch(_CLAIM, self._rows, self._after)
            if not rows:
                self._more = False
                return 0
            records, ids = _records(rows)
            if records:
                await self._producer.send_all(records)
            await connection.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", ids)
        self._after = rows[-1]["id"]
        self._more = len(rows) == self._rows
        self._rows = max(1, min(self._batch_size, round(self._batch_size * len(rows) / max(len(records), 1))))
        self.relayed += len(records)
        return len(records)

    async def run(self) -> None:
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
            if sent and self._more:
                continue
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
