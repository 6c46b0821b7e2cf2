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
from pydantic import BaseModel

from shared.contract.topics import Topic
from shared.errors import BrokerUnavailable
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
        record_key = key if key is not None else str(getattr(record, topic.key))
        return cls(topic, record_key, encode_value(record), headers_for(record))


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

    async def start(self) -> None:
        try:
            await asyncio.wait_for(self._producer.start(), self._timeout)
        except (KafkaError, OSError, TimeoutError) as error:
            await self._producer.stop()
            raise BrokerUnavailable(f"cannot reach the broker: {error!r}") from error
        self._started = True

    async def stop(self) -> None:
        await self._producer.stop()
        self._started = False

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        """Write every record and wait until the broker acknowledged all of them."""
        if not self._started:
            raise BrokerUnavailable("producer is not connected")
        try:
            futures = [
                await self._producer.send(
                    record.topic.full_name(self._settings.topic_prefix),
                    value=record.value,
                    key=record.key.encode(),
                    headers=record.headers,
                )
                for record in records
            ]
            # The client fails a batch it could not deliver within request_timeout_ms and then never
            # sends it, so waiting for that verdict (not cutting it short) means a 503 is final.
            # The outer bound is only a backstop.
            async with asyncio.timeout(self._timeout * 2 + 1):
                if len(futures) == 1:
                    outcomes = [await _outcome(futures[0])]
                else:
                    outcomes = await asyncio.gather(*futures, return_exceptions=True)
        except (KafkaError, OSError, TimeoutError) as error:
            raise BrokerUnavailable(f"broker did not acknowledge: {error!r}") from error
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failures:
            raise BrokerUnavailable(f"broker did not acknowledge {len(failures)} of {len(records)}: {failures[0]!r}")

    async def publish(self, topic: Topic, records: Iterable[BaseModel]) -> None:
        await self.send_all([OutgoingRecord.of(topic, record) for record in records])

    async def check_connection(self) -> None:
        """Ask the broker for metadata: proves it answers now, not just that it once did."""
        if not self._started:
            raise BrokerUnavailable("producer is not connected")
        await self._producer.client.fetch_all_metadata()
