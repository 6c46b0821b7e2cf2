"""Topics are created with the contract's configuration: contacts.changes bounds how long a profile outlives
its tombstone (DRIPLINE_ERASURE_DEADLINE_HOURS), a topic made before with other settings is reported, and
every partition gets the tombstones that close quiet segments."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.contract.topics import CONTACTS, ERASED
from shared.kafka.admin import config_drift, ensure_topics
from shared.kafka.client import client_options
from shared.kafka.producer import Producer
from shared.kafka.segment_roll import SegmentRoll, roll_keys
from shared.settings import CommonSettings
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

HOUR_MS = 3600 * 1000


async def _config(settings: CommonSettings, name: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        [(_, _, _, _, entries)] = response.resources
        return {entry[0]: entry[1] for entry in entries}
    finally:
        await admin.close()


async def test_created_topics_bound_how_long_an_erased_profile_stays(stack: RealStack) -> None:
    settings = stack.settings(CommonSettings, topic_prefix=f"cfg{uuid.uuid4().hex[:6]}.", erasure_deadline_hours=8.0)
    await ensure_topics(settings)

    profiles = await _config(settings, CONTACTS.full_name(settings.topic_prefix))
    assert profiles["cleanup.policy"] == "compact"
    assert int(profiles["segment.ms"]) == 2 * HOUR_MS and int(profiles["max.compaction.lag.ms"]) == 4 * HOUR_MS
    assert float(profiles["min.cleanable.dirty.ratio"]) == 0.1
    assert int(profiles["delete.retention.ms"]) == 7 * 24 * HOUR_MS
    notices = await _config(settings, ERASED.full_name(settings.topic_prefix))
    assert notices == {"cleanup.policy": "delete", "retention.ms": str(30 * 24 * HOUR_MS)}
    assert await config_drift(settings) == {}


async def test_a_profile_topic_made_with_compaction_only_is_reported(stack: RealStack) -> None:
    settings = stack.settings(CommonSettings, topic_prefix=f"old{uuid.uuid4().hex[:6]}.")
    name = CONTACTS.full_name(settings.topic_prefix)
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs={"cleanup.policy": "compact"})])
    finally:
        await admin.close()
    await ensure_topics(settings)

    drift = await config_drift(settings)
    assert list(drift) == [name]
    assert {key for key, _, _ in drift[name]} == {
        "segment.ms",
        "max.compaction.lag.ms",
        "min.cleanable.dirty.ratio",
        "delete.retention.ms",
    }


async def test_every_partition_of_the_profile_topic_gets_a_roll_tombstone(stack: RealStack) -> None:
    settings = stack.settings(CommonSettings)
    producer = Producer(settings)
    await producer.start()
    try:
        partitions = await SegmentRoll(producer, settings).roll_once()
    finally:
        await producer.stop()
    keys = set(roll_keys(partitions))
    rolled = await read_topic(stack, CONTACTS, count=partitions, where=lambda r: r["__key__"] in keys)
    assert {record["__key__"] for record in rolled} == keys and all("__tombstone__" in r for r in rolled)
