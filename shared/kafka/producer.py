"""A producer that only reports success once the broker has every record (acks=all).

Idempotent producing is not relied on (the local broker lacks it): duplicates are
possible on retry and every consumer drops them by event id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import TopicPartition
from pydantic import BaseModel

from shared.contract.topics import Topic
from shared.errors import BrokerUnavailable
from shared.kafka.ack_deadlines import AckDeadlines
from shared.kafka.client import client_options
from shared.kafka.codec import Headers, encode_value, headers_for
from shared.settings import CommonSettings


@dataclass(frozen=True)
class OutgoingRecord:
    topic: Topic
    key: str
    value: bytes | None
    headers: Headers = field(default_factory=list)

    @classmethod
    def of(cls, topic: Topic, record: BaseModel, key: str | None = None) -> OutgoingRecord:
        record_key = key if key is not None else topic.key_of(record)
        return cls(topic, record_key, encode_value(record), headers_for(record))


_PARTITIONER = DefaultPartitioner()


async def _outcome(future: Awaitable[object]) -> object:
    """One send's result, or the error it failed with (as gather(return_exceptions=True) gives)."""
    try:
        return await future
    except KafkaError as error:
        return error


class Producer:
    def __init__(self, settings: CommonSettings, *, linger_ms: int = 5, timeout_seconds: float = 5.0) -> None:
        self._settings = settings
        self._timeout = timeout_seconds
        self._producer = AIOKafkaProducer(
            **client_options(settings),
            acks="all",
            linger_ms=linger_ms,
            request_timeout_ms=int(timeout_seconds * 1000),
            max_batch_size=256 * 1024,
        )
        self._started = False
        # The client fails a batch it could not deliver within request_timeout_ms and then never
        # sends it, so waiting for that verdict (not cutting it short) means a 503 is final.
        # This outer bound is only a backstop.
        self._deadlines = AckDeadlines(timeout_seconds * 2 + 1)
        self._partitions: dict[str, list[TopicPartition]] = {}  # partition counts are fixed when topics are made
        self._by_key: dict[tuple[str, int], int] = {}

    async def start(self) -> None:
        try:
            await asyncio.wait_for(self._producer.start(), self._timeout)
        except (KafkaError, OSError, TimeoutError) as error:
            await self._producer.stop()
            raise BrokerUnavailable(f"cannot reach the broker: {error!r}") from error
        self._started = True

    async def stop(self) -> None:
        await self._producer.stop()
        self._deadlines.stop()
        self._started = False

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        """Write every record and wait until the broker acknowledged all of them."""
        if not self._started:
            raise BrokerUnavailable("producer is not connected")
        try:
            futures = await self._append(records)
            self._deadlines.watch(futures)
            # One after the other: records of one batch are acknowledged together, so after the
            # first wait the rest are usually done already (cheaper than gathering a thousand).
            outcomes = [await _outcome(future) for future in futures]
        except (KafkaError, OSError, TimeoutError) as error:
            raise BrokerUnavailable(f"broker did not acknowledge: {error!r}") from error
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failures:
            raise BrokerUnavailable(f"broker did not acknowledge {len(failures)} of {len(records)}: {failures[0]!r}")

    async def _append(self, records: Sequence[OutgoingRecord]) -> list[asyncio.Future[object]]:
        """Add each record to the client's open batch for its partition, in order.

        This is what `AIOKafkaProducer.send` does after choosing the partition, minus its per-record
        overhead; unlike handing over a batch of our own, concurrent requests' records share one
        batch per partition, so one produce request carries all of them. Partitions are chosen as
        the client (and Java clients) would — murmur2 of the key — so a contact's records land on
        the same partition whichever way they were sent, in order.
        """
        accumulator = self._producer._message_accumulator  # what `send` appends to (aiokafka is pinned)
        timeout = self._timeout
        futures = []
        for record in records:
            name = record.topic.full_name(self._settings.topic_prefix)
            partitions = self._partitions.get(name)
            if partitions is None:
                numbers = sorted(await self._partition_numbers(name))
                partitions = self._partitions[name] = [TopicPartition(name, number) for number in numbers]
            key = record.key.encode()
            partition = partitions[self._partition_of(record.key, key, len(partitions))]
            futures.append(await accumulator.add_message(partition, key, record.value, timeout, headers=record.headers))
        return futures

    async def _partition_numbers(self, name: str) -> set[int]:
        """The topic's partitions, with the topic tracked by the client from now on.

        The client keeps metadata only for the topics it tracks, and while it tracks none it asks for every
        topic. `partitions_for` answers from such an all-topics answer without tracking the topic; once any
        other topic is tracked, each refresh asks for that one alone and this topic's leaders are dropped:
        every later send to it would fail with NotLeaderForPartitionError, for good. Tracking it first keeps
        it in every refresh.
        """
        await self._producer.client.add_topic(name)
        partitions: set[int] = await self._producer.partitions_for(name)
        return partitions

    def _partition_of(self, key: str, key_bytes: bytes, count: int) -> int:
        """murmur2 is pure Python in the client; the same contacts come back often, so remember."""
        cache_key = (key, count)
        index = self._by_key.get(cache_key)
        if index is None:
            if len(self._by_key) > 200_000:
                self._by_key.clear()
            index = self._by_key[cache_key] = _PARTITIONER(key_bytes, range(count), range(count))
        return index

    async def partition_count(self, topic: Topic) -> int:
        """How many partitions the topic has (fixed when topics are made)."""
        name = topic.full_name(self._settings.topic_prefix)
        try:
            return len(await self._partition_numbers(name))
        except KafkaError as error:
            raise BrokerUnavailable(f"no metadata for {name}: {error!r}") from error

    async def publish(self, topic: Topic, records: Iterable[BaseModel]) -> None:
        await self.send_all([OutgoingRecord.of(topic, record) for record in records])

    async def check_connection(self) -> None:
        """Ask the broker for metadata: proves it answers now, not just that it once did."""
        if not self._started:
            raise BrokerUnavailable("producer is not connected")
        await self._producer.client.fetch_all_metadata()
