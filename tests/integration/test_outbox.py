"""The outbox on the real database and broker: a transaction's records share rows, relayed in order, in
bounded rounds; erasure takes a contact's records out of shared rows; the migration carries waiting
records over."""

from __future__ import annotations

import uuid

import asyncpg
import orjson
import pytest

from shared.contract.contacts import contact_key
from shared.contract.topics import CONTACTS, EVENTS
from shared.kafka.producer import OutgoingRecord, Producer
from shared.outbox import OutboxRelay, drop_waiting, enqueue
from shared.outbox_frames import unpack
from shared.settings import CommonSettings
from tests.support.stack import RealStack, own_database
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

REVISION = "0009_outbox_rows_per_transaction"


def _record(run: str, key: str, sequence: int, workspace_id: str = "shop-one") -> OutgoingRecord:
    value = orjson.dumps({"run": run, "seq": sequence, "workspace_id": workspace_id})
    return OutgoingRecord(EVENTS, f"{run}-{key}", value, [("schema", b"Test"), ("seq", str(sequence).encode())])


async def _drain(relay: OutboxRelay) -> None:
    """Rows other tests left behind go first, so the rounds below hold only this test's records."""
    while await relay.relay_once():
        pass


async def test_a_transactions_records_share_a_row_relayed_in_order_in_bounded_rounds(
    stack: RealStack, pool: asyncpg.Pool
) -> None:
    run = uuid.uuid4().hex[:8]
    producer = Producer(stack.settings(CommonSettings))
    await producer.start()
    try:
        await _drain(OutboxRelay(pool, producer))
        for records in (
            [_record(run, "a", 0), _record(run, "a", 1), _record(run, "b", 0)],
            [_record(run, "a", 2), _record(run, "b", 1)],
            [_record(run, "a", 3), _record(run, "b", 2)],
        ):
            async with pool.acquire() as connection, connection.transaction():
                await enqueue(connection, records)
        assert [row["record_count"] for row in await pool.fetch("SELECT record_count FROM outbox ORDER BY id")] == [
            3,
            2,
            2,
        ]

        # Rounds take whole rows, as many as the last round's records per row say make about
        # batch_size (4) records: one row of 3, then one row (4 / 3 per row), then two rows (4 / 2).
        relay = OutboxRelay(pool, producer, batch_size=4)
        assert [await relay.relay_once() for _ in range(4)] == [3, 2, 2, 0]
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await producer.stop()

    found = await read_topic(stack, EVENTS, count=7, where=lambda record: record.get("run") == run)
    by_key: dict[str, list[int]] = {}
    for record in found:
        assert record["__headers__"] == {"schema": "Test", "seq": str(record["seq"])}
        by_key.setdefault(record["__key__"], []).append(record["seq"])
    assert by_key == {f"{run}-a": [0, 1, 2, 3], f"{run}-b": [0, 1, 2]}


async def test_a_big_transaction_is_cut_into_rows_kept_inline_and_uncompressed(pool: asyncpg.Pool) -> None:
    run = uuid.uuid4().hex[:8]
    records = [_record(run, f"c{n}", n) for n in range(400)]
    async with pool.acquire() as connection, connection.transaction():
        await enqueue(connection, records)
    rows = await pool.fetch(
        "SELECT id, record_count, records, pg_column_size(records) AS stored, pg_column_compression(records) AS packed "
        "FROM outbox ORDER BY id"
    )
    ours = [row for row in rows if run.encode() in row["records"]]
    assert len(ours) > 1 and sum(row["record_count"] for row in ours) == 400
    assert [record for row in ours for record in unpack(row["records"])] == records
    assert all(row["packed"] is None and row["stored"] <= 8_160 for row in ours)
    await pool.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [row["id"] for row in ours])


async def test_erasure_takes_a_contacts_records_out_of_shared_rows(pool: asyncpg.Pool) -> None:
    run = uuid.uuid4().hex[:8]
    async with pool.acquire() as connection, connection.transaction():
        await enqueue(connection, [_record(run, "gone", 0), _record(run, "stays", 0), _record(run, "gone", 1)])
    async with pool.acquire() as connection, connection.transaction():
        await enqueue(connection, [_record(run, "gone", 2)])

    async with pool.acquire() as connection, connection.transaction():
        assert await drop_waiting(connection, "shop-one", f"{run}-gone") == 3

    rows = await pool.fetch("SELECT record_count, records FROM outbox")
    ours = [(row["record_count"], unpack(row["records"])) for row in rows if run.encode() in row["records"]]
    # The row that held only the erased contact is gone; the shared one lost the erased records.
    assert ours == [(1, [_record(run, "stays", 0)])]
    async with pool.acquire() as connection:
        await drop_waiting(connection, "shop-one", f"{run}-stays")


async def test_erasure_leaves_the_same_contact_id_of_another_workspace_waiting(pool: asyncpg.Pool) -> None:
    run = uuid.uuid4().hex[:8]
    contact_id = f"{run}-same"
    theirs = [
        _record(run, "same", 0, workspace_id="shop-b"),
        OutgoingRecord(CONTACTS, contact_key("shop-b", contact_id), b'{"workspace_id":"shop-b"}'),
    ]
    ours = [
        _record(run, "same", 1, workspace_id="shop-a"),
        OutgoingRecord(CONTACTS, contact_key("shop-a", contact_id), b'{"workspace_id":"shop-a"}'),
    ]
    # One transaction, rolled back: no relay of the other tests' services ever sees these rows.
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            await enqueue(connection, [theirs[0], ours[0], theirs[1], ours[1]])
            assert await drop_waiting(connection, "shop-a", contact_id) == 2
            rows = await connection.fetch("SELECT records FROM outbox")
            waiting = [record for row in rows for record in unpack(row["records"]) if run.encode() in row["records"]]
            assert waiting == theirs
        finally:
            await transaction.rollback()


async def test_the_migration_carries_waiting_records_over_and_back(stack: RealStack) -> None:
    async with own_database(stack, "outbox", "0001") as database:
        connection = database.connection
        for sequence, value in enumerate([b'{"seq":0}', None, b'{"seq":2}']):
            await connection.execute(
                "INSERT INTO outbox (topic, key, value, headers) VALUES ($1, $2, $3, $4::jsonb)",
                EVENTS.name,
                f"k{sequence % 2}",
                value,
                orjson.dumps([["schema", "Test"], ["n", str(sequence)]]).decode(),
            )
        await database.upgrade()
        [row] = await connection.fetch("SELECT record_count, records FROM outbox")
        assert row["record_count"] == 3
        assert unpack(row["records"]) == [
            OutgoingRecord(EVENTS, "k0", b'{"seq":0}', [("schema", b"Test"), ("n", b"0")]),
            OutgoingRecord(EVENTS, "k1", None, [("schema", b"Test"), ("n", b"1")]),
            OutgoingRecord(EVENTS, "k0", b'{"seq":2}', [("schema", b"Test"), ("n", b"2")]),
        ]

        await database.downgrade(f"{REVISION}-1")
        old = await connection.fetch("SELECT topic, key, value, headers FROM outbox ORDER BY id")
        assert [(row["topic"], row["key"], row["value"]) for row in old] == [
            (EVENTS.name, "k0", b'{"seq":0}'),
            (EVENTS.name, "k1", None),
            (EVENTS.name, "k0", b'{"seq":2}'),
        ]
        assert orjson.loads(old[2]["headers"]) == [["schema", "Test"], ["n", "2"]]
