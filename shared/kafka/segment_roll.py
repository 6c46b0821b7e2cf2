"""Closing contacts.changes' active segments on quiet partitions, so the erasure deadline holds there too.

Kafka compacts only closed segments, and closes (rolls) the active one only when a record is appended
after it is `segment.ms` old. A partition that nobody writes to after a tombstone would keep the
profiles before it for good. So every `segment.ms / 2` this appends a tombstone to each partition under
a key of its own (`dripline-roll-<n>`): it names no contact, and a tombstone whose key holds no `/`
is skipped by every consumer (docs/analysts.md). With it, a tombstone's segment closes at most
`segment.ms * 1.5` after it was written, well inside the deadline (docs/privacy.md).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka.partitioner import DefaultPartitioner

from shared.contract.topics import CONTACTS
from shared.errors import Transient
from shared.kafka.producer import OutgoingRecord, Producer
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)

SEGMENT_ROLL = "segment-roll"
RETRY_SECONDS = 10.0
_PARTITIONER = DefaultPartitioner()


ROLL_KEY_PREFIX = "dripline-roll-"


def is_roll_key(key: str | None) -> bool:
    return bool(key) and str(key).startswith(ROLL_KEY_PREFIX)


def roll_keys(partitions: int) -> list[str]:
    """One key per partition, in partition order: the first `dripline-roll-<n>` murmur2 puts there."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < partitions:
        key = f"{ROLL_KEY_PREFIX}{n}"
        found.setdefault(_PARTITIONER(key.encode(), range(partitions), range(partitions)), key)
        n += 1
    return [found[index] for index in range(partitions)]


def roll_records(partitions: int) -> list[OutgoingRecord]:
    return [OutgoingRecord(CONTACTS, key, None, [("op", b"roll")]) for key in roll_keys(partitions)]


class SegmentRoll:
    def __init__(self, producer: Producer, settings: CommonSettings) -> None:
        self._producer = producer
        segment_ms = int(CONTACTS.config(settings.erasure_deadline_hours)["segment.ms"])
        self.every_seconds = segment_ms / 2 / 1000
        self._stopping = asyncio.Event()

    async def roll_once(self) -> int:
        """A tombstone on every partition; how many partitions."""
        partitions = await self._producer.partition_count(CONTACTS)
        await self._producer.send_all(roll_records(partitions))
        return partitions

    async def run(self) -> None:
        while not self._stopping.is_set():
            wait = self.every_seconds
            try:
                await self.roll_once()
            except Transient as error:  # the broker is away (or not connected yet): soon again
                log.warning("segment_roll.failed", reason=str(error))
                wait = min(wait, RETRY_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)

    def finish(self) -> None:
        self._stopping.set()


__all__ = ["SEGMENT_ROLL", "SegmentRoll", "roll_keys", "roll_records"]
