"""The shared consumer loop: bad records go to dead letters, offsets are committed after handling."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contract.shop import TrackEvent
from shared.contract.topics import DEAD_LETTERS, EVENTS
from shared.kafka.consumer import ConsumerLoop, Incoming
from shared.kafka.producer import OutgoingRecord, Producer
from shared.settings import CommonSettings
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


def track(run: str, index: int) -> TrackEvent:
    now = datetime.now(UTC)
    return TrackEvent(
        type="track",
        name=f"{run}-{index}",
        event_id=f"{run}-{index}",
        workspace_id="w",
        contact_id=f"c{index}",
        occurred_at=now,
        received_at=now,
    )


async def test_a_poison_record_goes_to_dead_letters_and_the_rest_are_handled_once(stack: RealStack) -> None:
    settings = stack.settings(CommonSettings)
    producer = Producer(settings)
    await producer.start()
    run = uuid.uuid4().hex[:8]
    try:
        good = [OutgoingRecord.of(EVENTS, track(run, i)) for i in range(5)]
        poison = OutgoingRecord(EVENTS, "c-poison", b'{"not": "an event"}', [("run", run.encode())])
        await producer.send_all([*good[:2], poison, *good[2:]])

        seen: list[str] = []

        async def handle(batch: list[Incoming]) -> None:
            seen.extend(item.value.event_id for item in batch if item.value.name.startswith(run))

        group = f"loop-{run}"
        loop = ConsumerLoop(settings, group_id=group, topics=[EVENTS], handler=handle, producer=producer)
        task = asyncio.create_task(loop.run())
        await _until(lambda: len(seen) >= 5)
        loop.stop()
        await task
        assert sorted(seen) == sorted(f"{run}-{i}" for i in range(5))

        [dead] = await read_topic(stack, DEAD_LETTERS, count=1, where=lambda r: r["__headers__"].get("run") == run)
        assert dead["__headers__"]["source-topic"] == EVENTS.full_name(stack.topic_prefix)
        assert "does not match" in dead["__headers__"]["reason"]

        # Offsets were committed past every record handled, so a restart resumes after them.
        committed = await _committed(stack, f"{stack.topic_prefix}{group}", EVENTS.full_name(stack.topic_prefix))
        assert sum(committed.values()) >= 6
    finally:
        await producer.stop()


async def _committed(stack: RealStack, group: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        offsets = {p: await consumer.committed(TopicPartition(topic, p)) for p in partitions}
        return {p: offset for p, offset in offsets.items() if offset is not None}
    finally:
        await consumer.stop()


async def _until(condition: object, seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_batched_and_single_sends_put_a_contact_on_the_same_partition_in_order(stack: RealStack) -> None:
    settings = stack.settings(CommonSettings)
    producer = Producer(settings)
    await producer.start()
    run = uuid.uuid4().hex[:8]
    try:
        batched = [OutgoingRecord.of(EVENTS, track(run, i)) for i in range(40)]  # many in one call
        await producer.send_all(batched)
        for i in range(5):  # one by one: the client's own partitioner
            await producer.send_all([OutgoingRecord.of(EVENTS, track(f"{run}-late", i))])
    finally:
        await producer.stop()

    name = EVENTS.full_name(stack.topic_prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # noqa: SLF001 - metadata for a fresh consumer
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen: dict[str, list[tuple[int, int, str]]] = {}
        deadline = asyncio.get_running_loop().time() + 15
        while sum(len(v) for v in seen.values()) < 45 and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                for record in batch:
                    if record.value and run.encode() in record.value:
                        key = record.key.decode() if record.key else ""
                        seen.setdefault(key, []).append((record.partition, record.offset, record.value.decode()))
    finally:
        await consumer.stop()
    # Keys c0..c4 were sent both batched and singly: every record of a key is on one partition,
    # and the batched ones come before the single ones (the order they were sent).
    for index in range(5):
        records = seen[f"c{index}"]
        assert len({partition for partition, _, _ in records}) == 1
        assert [f"-late-{index}" in value for _, _, value in sorted(records)] == [False, True]
    assert sum(len(records) for records in seen.values()) == 45
