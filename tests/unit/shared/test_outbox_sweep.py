"""The relay reads on from the last id it relayed, and sweeps from the start every poll interval.

Ids are handed out at insert, so a transaction that inserted earlier but committed later leaves a
row below the last id relayed: the sweep is what sends it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg

from shared.contract.topics import SIGNUPS
from shared.kafka.producer import OutgoingRecord, Producer
from shared.outbox import OutboxRelay
from shared.outbox_frames import pack


class FakeOutbox:
    """The outbox table and the one connection the relay asks for."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.read_after: list[int] = []

    def commit(self, *ids: int) -> None:
        for row_id in ids:
            self.rows[row_id] = {"id": row_id, "records": pack([OutgoingRecord(SIGNUPS, "c", b"{}")])}

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeOutbox]:
        yield self

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield None

    async def fetchval(self, query: str, *args: object) -> bool:
        return True  # the relay lock

    async def fetch(self, query: str, limit: int, after: int) -> list[dict[str, Any]]:
        self.read_after.append(after)
        return [self.rows[i] for i in sorted(self.rows) if i > after][:limit]

    async def execute(self, query: str, ids: list[int]) -> None:
        for row_id in ids:
            del self.rows[row_id]


class Sent:
    def __init__(self) -> None:
        self.records: list[OutgoingRecord] = []

    async def send_all(self, records: list[OutgoingRecord]) -> None:
        self.records.extend(records)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0


async def test_a_row_committed_below_the_last_id_relayed_goes_out_with_the_next_sweep(monkeypatch: Any) -> None:
    outbox, sent = FakeOutbox(), Sent()
    relay = OutboxRelay(cast(asyncpg.Pool, outbox), cast(Producer, sent), poll_seconds=0.5)
    clock = Clock()
    monkeypatch.setattr("shared.outbox._loop_time", lambda: clock.now)

    outbox.commit(1, 2)
    assert await relay.relay_once() == 1  # the first round sweeps, one row: records per row are not known yet
    assert await relay.relay_once() == 1  # rows of one record each: the next rounds read up to batch_size rows
    outbox.commit(4)  # row 3 is inserted but its transaction has not committed yet
    assert await relay.relay_once() == 1
    outbox.commit(3)
    clock.now += 0.1
    assert await relay.relay_once() == 0  # read on from 4: row 3 is below it
    clock.now += 0.5
    assert await relay.relay_once() == 1  # a poll interval later the sweep finds it

    assert outbox.read_after == [0, 1, 2, 4, 0]
    assert outbox.rows == {} and len(sent.records) == 4
