"""The shared consumer loop: bad records go to dead letters (ids only, with their reason), a record the
handler keeps failing on is isolated and dead-lettered while the rest go through, transient failures are
retried, and offsets are committed after handling."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError

from shared.contract.shop import TrackEvent
from shared.contract.topics import DEAD_LETTERS, EVENTS
from shared.errors import Transient
from shared.kafka.consumer import ConsumerLoop, Incoming
from shared.kafka.producer import OutgoingRecord, Producer
from shared.settings import CommonSettings
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


@pytest.fixture
async def producer(stack: RealStack) -> AsyncIterator[Producer]:
    started = Producer(stack.settings(CommonSettings))
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


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


async def test_a_poison_record_goes_to_dead_letters_and_the_rest_are_handled_once(
    stack: RealStack, producer: Producer
) -> None:
    settings = stack.settings(CommonSettings)
    run = uuid.uuid4().hex[:8]
    good = [OutgoingRecord.of(EVENTS, track(run, i)) for i in range(5)]
    poison = OutgoingRecord(EVENTS, "c-poison", b'{"not": "an event"}', [("run", run.encode())])
    await producer.send_all([*good[:2], poison, *good[2:]])

    seen: list[str] = []

    async def handle(batch: list[Incoming]) -> None:
        seen.extend(item.value.event_id for item in batch if item.value.name.startswith(run))

    group = f"loop-{run}"
    loop = ConsumerLoop(settings, group_id=group, topics=[EVENTS], handler=handle, producer=producer)
    await consume_until(loop, lambda: len(seen) >= 5)
    assert sorted(seen) == sorted(f"{run}-{i}" for i in range(5))

    [dead] = await read_topic(stack, DEAD_LETTERS, count=1, where=lambda r: r["__headers__"].get("run") == run)
    assert dead["__headers__"]["source-topic"] == EVENTS.full_name(stack.topic_prefix)
    assert dead["__headers__"]["source-group"] == group
    assert "does not match" in dead["__headers__"]["reason"]
    assert "not" not in dead, "a dead letter keeps the record's ids only"

    # Offsets were committed past every record handled, so a restart resumes after them.
    committed = await _committed(stack, f"{stack.topic_prefix}{group}", EVENTS.full_name(stack.topic_prefix))
    assert sum(committed.values()) >= 6


async def test_a_record_the_handler_keeps_failing_on_is_dead_lettered_and_the_partition_moves_on(
    stack: RealStack, producer: Producer
) -> None:
    settings = stack.settings(CommonSettings, consumer_retry_seconds=0.02, consumer_poison_attempts=3)
    run = uuid.uuid4().hex[:8]
    # One contact, so one partition: the poison sits between records that must still be handled, in order.
    events = [track(run, i).model_copy(update={"contact_id": f"c-{run}"}) for i in range(6)]
    poison = events[2].model_copy(update={"properties": {"email": "kari@example.com"}})
    await producer.send_all([OutgoingRecord.of(EVENTS, e) for e in [*events[:2], poison, *events[3:]]])

    seen: list[str] = []
    tries = {"poison": 0}

    async def handle(batch: list[Incoming]) -> None:
        mine = [item.value for item in batch if item.value.name.startswith(run)]
        if any(value.properties for value in mine):
            tries["poison"] += 1
            raise ValueError("cannot store kari@example.com")
        seen.extend(value.event_id for value in mine)

    group = f"loop-poison-{run}"
    loop = ConsumerLoop(settings, group_id=group, topics=[EVENTS], handler=handle, producer=producer)
    await consume_until(loop, lambda: len(seen) >= 5)
    assert seen == [f"{run}-{i}" for i in (0, 1, 3, 4, 5)], "the records around the poison, once, in order"
    assert tries["poison"] >= 3

    [dead] = await read_topic(
        stack,
        DEAD_LETTERS,
        count=1,
        where=lambda r: r["__headers__"].get("source-group") == group and r.get("contact_id") == f"c-{run}",
    )
    assert {k: v for k, v in dead.items() if not k.startswith("__")} == {
        "event_id": f"{run}-2",
        "workspace_id": "w",
        "contact_id": f"c-{run}",
    }
    reason = dead["__headers__"]["reason"]
    assert reason == "handler failed 3 times: ValueError: cannot store <address>"
    assert dead["__key__"] == f"c-{run}"


async def test_transient_failures_are_retried_and_never_dead_lettered(stack: RealStack, producer: Producer) -> None:
    settings = stack.settings(CommonSettings, consumer_retry_seconds=0.02, consumer_poison_attempts=1)
    run = uuid.uuid4().hex[:8]
    await producer.send_all([OutgoingRecord.of(EVENTS, track(run, i)) for i in range(3)])
    seen: list[str] = []
    # A handler's own Transient, and a lost connection it did not wrap: both are outages, not bad records.
    failures: list[Exception] = [Transient("database connection lost"), ConnectionResetError("reset by peer")] * 2

    async def handle(batch: list[Incoming]) -> None:
        mine = [item.value.event_id for item in batch if item.value.name.startswith(run)]
        if mine and failures:
            raise failures.pop()
        seen.extend(mine)

    loop = ConsumerLoop(settings, group_id=f"loop-transient-{run}", topics=[EVENTS], handler=handle, producer=producer)
    await consume_until(loop, lambda: len(seen) >= 3)
    assert sorted(seen) == [f"{run}-{i}" for i in range(3)]
    dead = await read_topic(
        stack, DEAD_LETTERS, count=0, where=lambda r: str(r.get("event_id", "")).startswith(run), settle=1.0
    )
    assert dead == []


async def test_a_commit_refused_after_a_rebalance_does_not_stop_the_loop(stack: RealStack, producer: Producer) -> None:
    settings = stack.settings(CommonSettings)
    run = uuid.uuid4().hex[:8]
    seen: list[str] = []

    async def handle(batch: list[Incoming]) -> None:
        seen.extend(item.value.event_id for item in batch if item.value.name.startswith(run))

    loop = ConsumerLoop(settings, group_id=f"loop-commit-{run}", topics=[EVENTS], handler=handle, producer=producer)
    client = loop.consumer
    commit = client.commit
    refused = {"count": 0}

    async def refuse_once(*args: Any, **kwargs: Any) -> None:
        if not refused["count"]:
            refused["count"] += 1
            raise CommitFailedError("the group rebalanced")
        await commit(*args, **kwargs)

    client.commit = refuse_once  # type: ignore[method-assign]
    task = asyncio.create_task(loop.run())
    await producer.send_all([OutgoingRecord.of(EVENTS, track(run, 0))])
    await _until(lambda: len(seen) >= 1 and refused["count"] == 1)
    await producer.send_all([OutgoingRecord.of(EVENTS, track(run, 1))])
    await _until(lambda: f"{run}-1" in seen)
    assert not task.done(), "the loop kept consuming with the same client"
    loop.stop()
    await task


async def _committed(stack: RealStack, group: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        offsets = {p: await consumer.committed(TopicPartition(topic, p)) for p in partitions}
        return {p: offset for p, offset in offsets.items() if offset is not None}
    finally:
        await consumer.stop()


async def consume_until(loop: ConsumerLoop, condition: Callable[[], bool]) -> None:
    """Run the loop until `condition` holds, then stop it (it commits what it handled)."""
    task = asyncio.create_task(loop.run())
    try:
        await _until(condition)
    finally:
        loop.stop()
        await task


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
