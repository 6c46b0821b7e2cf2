"""The one consumer loop every service uses.

poll a batch → decode (a bad record goes to dead letters with its reason) → hand the
batch to the service (one database transaction: state + outbox + processed ids) →
commit offsets. Offsets are committed only after the handler returned, so a crash
replays the batch and the handler's idempotency drops what it already did.

A handler that fails for a reason other than a `Transient` one has the batch retried in
halves until the record that fails is alone; that record is tried `consumer_poison_attempts`
times and then goes to dead letters, and the partition moves on. Transient failures (broker
or database away, `RETRIED`) are retried with backoff and never dead-lettered.

The loop runs under the worker supervisor: anything it cannot handle itself (the broker went
away, the group's offsets are gone) ends `run`, and the supervisor runs it again with a fresh
client, which joins the group anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg
import asyncpg.exceptions as asyncpg_errors
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import CommitFailedError, KafkaConnectionError, KafkaError

from shared.contract.topics import Topic
from shared.errors import Permanent, Transient
from shared.kafka.client import client_options
from shared.kafka.codec import decode_value
from shared.kafka.dead_letters import DEAD_LETTERED, dead_letter, reason_of
from shared.kafka.lag import LagGauge
from shared.kafka.producer import Producer
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Incoming:
    topic: Topic
    key: str | None
    value: Any  # the decoded record, or None for a tombstone
    partition: int
    offset: int


BatchHandler = Callable[[list[Incoming]], Awaitable[None]]
Raw: TypeAlias = ConsumerRecord[bytes, bytes]
Item: TypeAlias = tuple[Incoming, Raw]


# A dependency that went away, whether or not the handler said so with `Transient`: retried, never
# dead-lettered (a PostgreSQL restart must not cost records).
RETRIED = (
    Transient,
    OSError,
    KafkaConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg_errors.AdminShutdownError,
    asyncpg_errors.CrashShutdownError,
    asyncpg_errors.CannotConnectNowError,
    asyncpg_errors.TooManyConnectionsError,
)


class _Stopped(Exception):
    """Asked to stop while waiting to retry: leave without committing; the batch is replayed."""


class ConsumerLoop:
    def __init__(
        self,
        settings: CommonSettings,
        *,
        group_id: str,
        topics: Sequence[Topic],
        handler: BatchHandler,
        producer: Producer,
        max_records: int = 500,
        retry_seconds: float | None = None,
        fetch_max_wait_ms: int | None = None,
    ) -> None:
        """`fetch_max_wait_ms` overrides the setting of the same name, for a consumer that can wait longer;
        `retry_seconds` overrides `consumer_retry_seconds`."""
        self._settings = settings
        self._by_name = {topic.full_name(settings.topic_prefix): topic for topic in topics}
        self._group_id = group_id
        self._handler = handler
        self._producer = producer
        self._max_records = max_records
        self._retry_seconds = retry_seconds or settings.consumer_retry_seconds
        self._retry_cap = max(settings.loop_backoff_max_seconds, self._retry_seconds)
        self._attempts = settings.consumer_poison_attempts
        self._fetch_max_wait_ms = fetch_max_wait_ms or settings.kafka_fetch_max_wait_ms
        self._stopping = asyncio.Event()
        self._lag = LagGauge(group_id, self._by_name)
        self.consumer = self._client()
        self._started_once = False
        self.handled = 0
        self.dead_lettered = 0

    def _client(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self._by_name,
            **client_options(self._settings),
            group_id=f"{self._settings.topic_prefix}{self._group_id}",
            fetch_max_wait_ms=self._fetch_max_wait_ms,
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self._settings.kafka_heartbeat_interval_ms,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    async def run(self) -> None:
        """Consume until `stop()`. Each run after the first starts from a fresh client."""
        if self._started_once:
            self.consumer = self._client()
        self._started_once = True
        try:
            await self.consumer.start()
            while not self._stopping.is_set():
                batches = await self.consumer.getmany(timeout_ms=200, max_records=self._max_records)
                records = [record for batch in batches.values() for record in batch]
                if records:
                    try:
                        await self._handle(records)
                    except _Stopped:
                        return
                    await self._commit()
                self._lag.observe(self.consumer, records)
        finally:
            self._lag.forget()
            try:
                await self.consumer.stop()
            except KafkaError as error:  # leaving the group failed: the broker drops the member on its own
                log.warning("consumer.stop_failed", group=self._group_id, reason=repr(error))

    def stop(self) -> None:
        """Finish the batch in hand, commit it, then leave."""
        self._stopping.set()

    async def _commit(self) -> None:
        try:
            await self.consumer.commit()
        except CommitFailedError as error:
            # The group rebalanced under this batch (a member joined or left, the broker restarted): the
            # partitions' new owners replay it from the last commit, and handling is idempotent.
            log.warning("consumer.commit_failed", group=self._group_id, reason=str(error))

    async def _handle(self, records: list[Raw]) -> None:
        items: list[Item] = []
        for record in records:
            topic = self._by_name[record.topic]
            try:
                value = decode_value(topic, record.value)
            except Permanent as error:
                await self._dead_letter(record, str(error))
                continue
            key = record.key.decode() if record.key is not None else None
            items.append((Incoming(topic, key, value, record.partition, record.offset), record))
        await self._through(items)

    async def _through(self, items: list[Item]) -> None:
        """Handle `items`; on a failure that is not transient, halves are handled on their own until the
        record that fails is alone (records keep their order, so a contact's events stay in sequence)."""
        if not items:
            return
        error = await self._attempt(items)
        if error is None:
            return
        if len(items) > 1:
            log.warning("batch.failed", group=self._group_id, size=len(items), reason=reason_of(error))
            middle = len(items) // 2
            await self._through(items[:middle])
            await self._through(items[middle:])
            return
        await self._isolate(items[0], error)

    async def _isolate(self, item: Item, error: Exception) -> None:
        """One record that fails: try it again (a fault may pass), then give it up to dead letters."""
        failures = 1
        delay = self._retry_seconds
        while failures < self._attempts and not isinstance(error, Permanent):
            log.warning("record.retry", group=self._group_id, offset=item[1].offset, reason=reason_of(error))
            await self._pause(delay)
            delay = min(delay * 2, self._retry_cap)
            found = await self._attempt([item])
            if found is None:
                return
            error, failures = found, failures + 1
        log.error("record.gave_up", group=self._group_id, topic=item[1].topic, offset=item[1].offset, exc_info=error)
        times = "once" if failures == 1 else f"{failures} times"
        await self._dead_letter(item[1], f"handler failed {times}: {reason_of(error)}")

    async def _attempt(self, items: list[Item]) -> Exception | None:
        """Run the handler on `items`, retrying transient failures; the error of any other failure."""
        delay = self._retry_seconds
        while True:
            try:
                await self._handler([incoming for incoming, _ in items])
            except RETRIED as error:
                log.warning("batch.retry", group=self._group_id, size=len(items), reason=repr(error))
                await self._pause(delay)
                delay = min(delay * 2, self._retry_cap)
                continue
            except Exception as error:  # noqa: BLE001 - bad data or a bug in one record must not stop the partition
                return error
            self.handled += len(items)
            return None

    async def _dead_letter(self, record: Raw, reason: str) -> None:
        """Write the dead letter, retrying while the broker is away: the record is only let go once it is there."""
        log.error("record.dead_letter", group=self._group_id, topic=record.topic, offset=record.offset, reason=reason)
        letter = dead_letter(record, reason, self._group_id)
        delay = self._retry_seconds
        while True:
            try:
                await self._producer.send_all([letter])
                break
            except Transient as error:
                log.warning("dead_letter.retry", reason=str(error))
                await self._pause(delay)
                delay = min(delay * 2, self._retry_cap)
        self.dead_lettered += 1
        DEAD_LETTERED.labels(self._group_id, self._by_name[record.topic].name).inc()

    async def _pause(self, seconds: float) -> None:
        """Wait before a retry (with jitter); raises _Stopped if asked to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds * (0.5 + random.random() / 2))
        if self._stopping.is_set():
            raise _Stopped
