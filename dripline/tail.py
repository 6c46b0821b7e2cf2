"""`dripline tail TOPIC`: print a topic's records as JSON lines (what an analyst's consumer sees).

By default only records that arrive after the command starts are printed. The embedded broker reports
end offsets a little low, so "new" is decided by each record's timestamp, not by where the topic ended:
reading starts at the first offset at or after the start time (or at the reported end), and anything
older than the start is skipped.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.contract.topics import by_name
from shared.kafka.client import client_options
from shared.settings import CommonSettings

# Without --follow, this long without a record means the end is reached.
CAUGHT_UP_SECONDS = 1.0


@dataclass(frozen=True)
class TailOptions:
    from_beginning: bool = False
    limit: int | None = None  # --max
    timeout: float | None = None  # stop after this long without a new record
    follow: bool = True  # False: stop once caught up


def line_of(record: ConsumerRecord[bytes, bytes]) -> str:
    value = orjson.loads(record.value) if record.value is not None else None
    return orjson.dumps({"key": record.key.decode() if record.key else None, "value": value}).decode()


def idle_limit(options: TailOptions) -> float | None:
    """How long without a record ends the tail (None: never)."""
    limits = [options.timeout] if options.timeout is not None else []
    if not options.follow:
        limits.append(CAUGHT_UP_SECONDS)
    return min(limits) if limits else None


async def _start_at_now(consumer: AIOKafkaConsumer, partitions: list[TopicPartition], now_ms: int) -> None:
    found = await consumer.offsets_for_times(dict.fromkeys(partitions, now_ms))
    quiet = []
    for partition, at in found.items():
        if at is None:
            quiet.append(partition)
        else:
            consumer.seek(partition, at.offset)
    if quiet:
        await consumer.seek_to_end(*quiet)


async def tail(topic_name: str, options: TailOptions, settings: CommonSettings | None = None) -> int:
    """Print records until --max, the idle limit or Ctrl-C; the number printed."""
    settings = settings or CommonSettings()
    name = by_name(topic_name).full_name(settings.topic_prefix)
    started_ms = int(time.time() * 1000)
    consumer = AIOKafkaConsumer(
        **client_options(settings), fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms, enable_auto_commit=False
    )
    await consumer.start()
    printed = 0
    try:
        await consumer._client.force_metadata_update()  # noqa: SLF001 - a fresh client knows no topics yet
        partitions = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        consumer.assign(partitions)
        if options.from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            await _start_at_now(consumer, partitions, started_ms)
        print(f"reading {name} ({'from the beginning' if options.from_beginning else 'new records'})", file=sys.stderr)
        sys.stderr.flush()
        idle_after = idle_limit(options)
        last_record = time.monotonic()
        while options.limit is None or printed < options.limit:
            batches = await consumer.getmany(timeout_ms=200)
            records = [record for batch in batches.values() for record in batch]
            if not options.from_beginning:
                records = [record for record in records if record.timestamp >= started_ms]
            if records:
                last_record = time.monotonic()
            for record in records[: None if options.limit is None else options.limit - printed]:
                print(line_of(record), flush=True)
                printed += 1
            if idle_after is not None and time.monotonic() - last_record >= idle_after:
                break
    finally:
        await consumer.stop()
    return printed


def run_tail(topic_name: str, options: TailOptions) -> int:
    try:
        return asyncio.run(tail(topic_name, options))
    except KeyboardInterrupt:
        return 0
