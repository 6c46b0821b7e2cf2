"""`dripline tail TOPIC`: print a topic's records as JSON lines (what an analyst's consumer sees)."""

from __future__ import annotations

import asyncio

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contract.topics import by_name
from shared.kafka.client import client_options
from shared.settings import CommonSettings


async def tail(topic_name: str, *, limit: int | None, follow: bool) -> None:
    settings = CommonSettings()
    name = by_name(topic_name).full_name(settings.topic_prefix)
    consumer = AIOKafkaConsumer(
        **client_options(settings), fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # noqa: SLF001 - a fresh client knows no topics yet
        partitions = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        printed = 0
        idle_polls = 0
        while limit is None or printed < limit:
            batches = await consumer.getmany(timeout_ms=500)
            records = [record for batch in batches.values() for record in batch]
            idle_polls = 0 if records else idle_polls + 1
            for record in records:
                value = orjson.loads(record.value) if record.value is not None else None
                print(orjson.dumps({"key": record.key.decode() if record.key else None, "value": value}).decode())
                printed += 1
            if not follow and idle_polls >= 2:
                break
    finally:
        await consumer.stop()


def run_tail(topic_name: str, limit: int | None, follow: bool) -> None:
    asyncio.run(tail(topic_name, limit=limit, follow=follow))
