"""Reading what landed on a topic, waiting for an expected count rather than for 'end of topic'.

(The local broker under-reports end offsets, so tests never rely on them.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contract.topics import Topic
from tests.support.stack import RealStack

RecordDict = dict[str, Any]


async def read_topic(
    stack: RealStack,
    topic: Topic,
    *,
    count: int,
    where: Callable[[RecordDict], bool] = lambda record: True,
    timeout: float = 15.0,
    settle: float = 0.0,
    to_end: bool = False,
) -> list[RecordDict]:
    """Records matching `where`, once `count` of them arrived (then `settle` seconds more to catch extras);
    with `to_end`, every record the topic held when the read began (a long topic on a busy machine can take
    longer than any settle)."""
    name = topic.full_name(stack.topic_prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(name) or set()
        if not partitions:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - metadata for a fresh consumer
            partitions = consumer.partitions_for_topic(name) or set()
        assignment = [TopicPartition(name, partition) for partition in partitions]
        consumer.assign(assignment)
        await consumer.seek_to_beginning(*assignment)
        ends = await consumer.end_offsets(assignment) if to_end else {}
        found: list[RecordDict] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        settle_until: float | None = None
        while loop.time() < deadline and (settle_until is None or loop.time() < settle_until):
            batches = await consumer.getmany(timeout_ms=100)
            for batch in batches.values():
                for record in batch:
                    value = orjson.loads(record.value) if record.value is not None else {"__tombstone__": True}
                    value["__key__"] = record.key.decode() if record.key else None
                    value["__headers__"] = {k: v.decode() for k, v in record.headers}
                    if where(value):
                        found.append(value)
            if ends and [p for p, end in ends.items() if await consumer.position(p) < end]:
                continue
            if len(found) >= count and settle_until is None:
                if settle <= 0:
                    break
                settle_until = loop.time() + settle
        return found
    finally:
        await consumer.stop()
