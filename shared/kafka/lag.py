"""Consumer lag per group and partition: the partition's high watermark minus the next offset to handle.

The high watermark comes with each fetch response, so the gauge costs no requests. On the local
broker (Tansu) high watermarks run low, so there the lag is approximate (docs: STACK.md).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from prometheus_client import Gauge

from shared.contract.topics import Topic

LAG = Gauge(
    "dripline_consumer_lag",
    "Records a consumer group has yet to handle, per partition (approximate on the local broker)",
    ["group", "topic", "partition"],
)
EVERY_SECONDS = 1.0


class LagGauge:
    def __init__(self, group: str, topics: Mapping[str, Topic]) -> None:
        self._group = group
        self._topics = topics
        self._next: dict[TopicPartition, int] = {}
        self._shown: set[TopicPartition] = set()
        self._observed_at = 0.0

    def observe(self, consumer: AIOKafkaConsumer, handled: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Note the records just handled; at most once a second, set the gauge for the partitions held."""
        for record in handled:
            self._next[TopicPartition(record.topic, record.partition)] = record.offset + 1
        now = time.monotonic()
        if now - self._observed_at < EVERY_SECONDS:
            return
        self._observed_at = now
        held = consumer.assignment()
        for partition in self._shown - held:  # moved to another member: its lag is theirs to report
            self._remove(partition)
        for partition in held:
            highwater, next_offset = consumer.highwater(partition), self._next.get(partition)
            if highwater is not None and next_offset is not None:
                LAG.labels(*self._labels(partition)).set(max(0, highwater - next_offset))
                self._shown.add(partition)

    def forget(self) -> None:
        """The client stops (its partitions go elsewhere, or a fresh client takes over)."""
        for partition in list(self._shown):
            self._remove(partition)
        self._next.clear()

    def _remove(self, partition: TopicPartition) -> None:
        self._shown.discard(partition)
        with contextlib.suppress(KeyError):
            LAG.remove(*self._labels(partition))

    def _labels(self, partition: TopicPartition) -> tuple[str, str, str]:
        topic = self._topics.get(partition.topic)
        return self._group, topic.name if topic else partition.topic, str(partition.partition)
