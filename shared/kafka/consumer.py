"""The one consumer loop every service uses.

poll a batch → decode (a bad record goes to dead letters with its reason) → hand the
batch to the service (one database transaction: state + outbox + processed ids) →
commit offsets. Offsets are committed only after the handler returned, so a crash
replays the batch and the handler's idempotency drops what it already did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaError

from shared.contract.topics import DEAD_LETTERS, Topic
from shared.errors import Permanent, Transient
from shared.kafka.client import client_options
from shared.kafka.codec import decode_value
from shared.kafka.producer import OutgoingRecord, Producer
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
        retry_seconds: float = 1.0,
        fetch_max_wait_ms: int | None = None,
    ) -> None:
        """`fetch_max_wait_ms` overrides the setting of the same name, for a consumer that can wait longer."""
        self._settings = settings
        self._by_name = {topic.full_name(settings.topic_prefix): topic for topic in topics}
        self._handler = handler
        self._producer = producer
        self._max_records = max_records
        self._retry_seconds = retry_seconds
        self._stopping = asyncio.Event()
        self.consumer = AIOKafkaConsumer(
            *self._by_name,
            **client_options(settings),
            group_id=f"{settings.topic_prefix}{group_id}",
            fetch_max_wait_ms=fetch_max_wait_ms or settings.kafka_fetch_max_wait_ms,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self.handled = 0

    async def run(self) -> None:
        await self.consumer.start()
        try:
            while not self._stopping.is_set():
                batches = await self.consumer.getmany(timeout_ms=200, max_records=self._max_records)
                records = [record for batch in batches.values() for record in batch]
                if records:
                    await self._handle(records)
                    await self.consumer.commit()
        finally:
            await self.consumer.stop()

    def stop(self) -> None:
        """Finish the batch in hand, commit it, then leave."""
        self._stopping.set()

    async def _handle(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        decoded: list[Incoming] = []
        for record in records:
            topic = self._by_name[record.topic]
            try:
                value = decode_value(topic, record.value)
            except Permanent as error:
                await self._dead_letter(record, str(error))
                continue
            key = record.key.decode() if record.key is not None else None
            decoded.append(Incoming(topic, key, value, record.partition, record.offset))
        while decoded:
            try:
                await self._handler(decoded)
                self.handled += len(decoded)
                return
            except Transient as error:
                log.warning("batch.retry", reason=str(error), size=len(decoded))
                await asyncio.sleep(self._retry_seconds)
            except Permanent:
                await self._handle_one_by_one(decoded, records)
                return

    async def _handle_one_by_one(self, decoded: list[Incoming], raw: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Find the poison record in a batch that failed permanently; the others still go through."""
        raw_by_position = {(r.partition, r.offset): r for r in raw}
        for item in decoded:
            try:
                await self._handler([item])
                self.handled += 1
            except Permanent as error:
                await self._dead_letter(raw_by_position[(item.partition, item.offset)], str(error))

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str) -> None:
        log.error("record.dead_letter", topic=record.topic, offset=record.offset, reason=reason)
        headers = [
            *[(name, value) for name, value in record.headers if not name.startswith("source-") and name != "reason"],
            ("source-topic", record.topic.encode()),
            ("source-partition", str(record.partition).encode()),
            ("source-offset", str(record.offset).encode()),
            ("reason", reason[:1000].encode()),
        ]
        key = record.key.decode() if record.key is not None else ""
        try:
            await self._producer.send_all([OutgoingRecord(DEAD_LETTERS, key, record.value, headers)])
        except KafkaError as error:
            raise Transient(f"cannot write dead letter: {error!r}") from error
