"""The producer on the real broker: the client's own partitions, and concurrent callers sharing batches."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.contract.topics import EVENTS, Topic
from shared.kafka.producer import OutgoingRecord, Producer
from shared.settings import CommonSettings
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


def _record(run: str, key: str, sequence: int) -> OutgoingRecord:
    return OutgoingRecord(EVENTS, key, f'{{"run":"{run}","seq":{sequence}}}'.encode())


async def _partitions_and_sequences(stack: RealStack, run: str, expected: int) -> dict[str, list[tuple[int, int]]]:
    """(partition, seq) of each of this run's records, by key, in offset order."""
    name = EVENTS.full_name(stack.topic_prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await consumer.start()
    seen: dict[str, list[tuple[int, int]]] = {}
    try:
        await consumer._client.force_metadata_update()  # noqa: SLF001 - metadata for a fresh consumer
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = asyncio.get_running_loop().time() + 15
        while sum(map(len, seen.values())) < expected and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                for record in batch:
                    if record.value and run.encode() in record.value and record.key:
                        sequence = int(record.value.rsplit(b":", 1)[1].rstrip(b"}"))
                        seen.setdefault(record.key.decode(), []).append((record.partition, sequence))
    finally:
        await consumer.stop()
    return seen


async def test_a_key_lands_where_the_client_itself_would_put_it(stack: RealStack) -> None:
    run = uuid.uuid4().hex[:8]
    keys = [f"{run}-k{i}" for i in range(24)]
    producer = Producer(stack.settings(CommonSettings))
    raw = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    await raw.start()
    try:
        await producer.send_all([_record(run, key, 0) for key in keys])
        name = EVENTS.full_name(stack.topic_prefix)
        sent = [await raw.send(name, f'{{"run":"{run}","seq":1}}'.encode(), key=key.encode()) for key in keys]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
        await raw.stop()
    seen = await _partitions_and_sequences(stack, run, expected=48)
    for key in keys:
        assert len({partition for partition, _ in seen[key]}) == 1, key
        assert [sequence for _, sequence in seen[key]] == [0, 1]


async def test_concurrent_callers_each_wait_for_their_own_records_in_order(stack: RealStack) -> None:
    run = uuid.uuid4().hex[:8]
    producer = Producer(stack.settings(CommonSettings))
    await producer.start()
    try:
        rounds = [[_record(run, f"{run}-k{i % 5}", r * 100 + i) for i in range(100)] for r in range(6)]

        async def caller(records: list[OutgoingRecord]) -> None:
            await producer.send_all(records[:50])
            await producer.send_all(records[50:])

        await asyncio.gather(*(caller(records) for records in rounds))
    finally:
        await producer.stop()
    seen = await _partitions_and_sequences(stack, run, expected=600)
    assert sum(map(len, seen.values())) == 600
    for records in seen.values():
        # Each caller's records of one key keep their order, whichever callers' records sit between them.
        for r in range(6):
            mine = [sequence for _, sequence in records if sequence // 100 == r]
            assert mine == sorted(mine)


async def test_a_topic_known_from_the_first_metadata_stays_writable_after_another_topic_is_first_used(
    stack: RealStack,
) -> None:
    """The client keeps metadata only for the topics it tracks (all of them while it tracks none). A topic
    known from that first all-topics answer and never tracked lost its leaders as soon as a topic created
    later was used: every send to it then failed with NotLeaderForPartitionError, for good (a scheduler's
    outbox relay stuck on one partition of workspaces.audit, sending the rest of its batch again and again)."""
    producer = Producer(stack.settings(CommonSettings), timeout_seconds=3.0)
    await producer.start()
    try:
        run = uuid.uuid4().hex[:8]
        await producer.send_all([_record(run, "before", 0)])  # EVENTS: present when the producer started
        later = Topic(f"later-{run}", dict, "A topic made after the producer started.", "tests", ())
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(later.full_name(stack.topic_prefix), 2, 1)])
        finally:
            await admin.close()
        assert await producer.partition_count(later) == 2  # the client now tracks this topic
        await producer.send_all([OutgoingRecord(later, "k", b"{}")])
        await producer.send_all([_record(run, "after", 1)])  # EVENTS again: still writable
    finally:
        await producer.stop()
    found = await _partitions_and_sequences(stack, run, 2)
    assert sorted(found) == ["after", "before"]
