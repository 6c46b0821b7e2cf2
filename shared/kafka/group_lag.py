"""Consumer lag per group from the broker's own books: each partition's end offset minus the group's
committed offset, summed per group and topic.

Unlike `dripline_consumer_lag` (what one member saw in its last fetch), this reads what the broker has
committed for every group of this deployment (its topic prefix), members running or not: a group whose
consumers all died still shows its lag growing. It costs a few admin requests, so it runs on an interval.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Mapping

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import Gauge

from shared.contract.topics import EVERY_TOPIC
from shared.kafka.client import client_options
from shared.refresh_loop import RefreshLoop
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)

GROUP_LAG = "group-lag"
GROUP_LAG_RECORDS = Gauge(
    "dripline_consumer_group_lag",
    "Records on the broker past a consumer group's committed offset, per group and topic (every group)",
    ["group", "topic"],
)
EVERY_SECONDS = 30.0


def lag_by_topic(
    committed: Mapping[TopicPartition, int], beginning: Mapping[TopicPartition, int], end: Mapping[TopicPartition, int]
) -> dict[str, int]:
    """Per topic, the records between each partition's committed offset (its first offset when the group
    never committed there) and its end."""
    lag: dict[str, int] = defaultdict(int)
    for partition, last in end.items():
        start = committed.get(partition, beginning.get(partition, last))
        lag[partition.topic] += max(0, last - start)
    return dict(lag)


class GroupLagWatch(RefreshLoop):
    """Sets `dripline_consumer_group_lag` for every group under the settings' topic prefix, on the contract's topics."""

    def __init__(self, settings: CommonSettings, *, every_seconds: float = EVERY_SECONDS) -> None:
        super().__init__(self.refresh, every_seconds=every_seconds, failure_event="kafka.group_lag_failed")
        self._settings = settings
        self._prefix = settings.topic_prefix
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._shown: set[tuple[str, str]] = set()

    async def refresh(self) -> dict[tuple[str, str], int]:
        """One round; a broker error is logged and the next round starts from fresh clients."""
        try:
            found = await self._read()
        except KafkaError as error:
            log.warning("kafka.group_lag_failed", reason=repr(error))
            await self.close()
            return {}
        for labels in self._shown - found.keys():
            with contextlib.suppress(KeyError):
                GROUP_LAG_RECORDS.remove(*labels)
        for labels, records in found.items():
            GROUP_LAG_RECORDS.labels(*labels).set(records)
        self._shown = set(found)
        return found

    async def _read(self) -> dict[tuple[str, str], int]:
        admin, offsets = await self._clients()
        groups = sorted(
            group_id
            for group_id, *_ in await admin.list_consumer_groups()
            if isinstance(group_id, str) and group_id.startswith(self._prefix)
        )
        # Every partition of the contract's topics is asked for by name: asking for "all the group's" is an
        # OffsetFetch some brokers (the local one) cannot answer. Uncommitted ones come back as -1, so a
        # group of another application on a shared cluster shows nothing.
        ours = {topic.full_name(self._prefix) for topic in EVERY_TOPIC}
        every = self._partitions_of(ours & await offsets.topics(), offsets)
        found: dict[tuple[str, str], int] = {}
        for group in groups:
            answer = await admin.list_consumer_group_offsets(group, partitions=every)
            committed = {partition: meta.offset for partition, meta in answer.items() if meta.offset >= 0}
            topics = {partition.topic for partition in committed}
            partitions = [partition for partition in every if partition.topic in topics]
            if not partitions:
                continue
            end = await offsets.end_offsets(partitions)
            beginning = await offsets.beginning_offsets(partitions)
            name = group.removeprefix(self._prefix)
            for topic, records in lag_by_topic(committed, beginning, end).items():
                found[(name, topic.removeprefix(self._prefix))] = records
        return found

    @staticmethod
    def _partitions_of(topics: set[str], offsets: AIOKafkaConsumer) -> list[TopicPartition]:
        return [
            TopicPartition(topic, partition)
            for topic in sorted(topics)
            for partition in sorted(offsets.partitions_for_topic(topic) or ())
        ]

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._offsets is None:
            admin = AIOKafkaAdminClient(**client_options(self._settings))
            offsets = AIOKafkaConsumer(**client_options(self._settings), enable_auto_commit=False)
            self._admin, self._offsets = admin, offsets
            await admin.start()
            await offsets.start()
        return self._admin, self._offsets

    async def close(self) -> None:
        admin, offsets, self._admin, self._offsets = self._admin, self._offsets, None, None
        if offsets is not None:
            with contextlib.suppress(KafkaError):
                await offsets.stop()
        if admin is not None:
            with contextlib.suppress(KafkaError):
                await admin.close()

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            await self.close()
