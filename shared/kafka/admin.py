"""Creates the contract's topics with their partition counts and configs."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.contract.topics import EVERY_TOPIC
from shared.kafka.client import client_options
from shared.settings import CommonSettings


async def ensure_topics(settings: CommonSettings) -> list[str]:
    """Create missing topics; returns the names created. Existing topics are left alone."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=topic.full_name(settings.topic_prefix),
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication_factor,
                topic_configs=topic.config(settings.erasure_deadline_hours),
            )
            for topic in EVERY_TOPIC
            if topic.full_name(settings.topic_prefix) not in existing
        ]
        if wanted:
            await admin.create_topics(wanted)
        return [topic.name for topic in wanted]
    finally:
        await admin.close()


# (setting, what the topic has, what the contract wants) for each topic whose broker config differs.
Drift = dict[str, list[tuple[str, str | None, str]]]


async def config_drift(settings: CommonSettings) -> Drift:
    """Existing topics whose configuration is not the contract's (created before a setting was added).

    `ensure_topics` leaves existing topics alone, and not every broker can alter configs (the local one
    cannot), so this only reports: `dripline create-topics` prints what to change."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        topics = {
            t.full_name(settings.topic_prefix): t for t in EVERY_TOPIC if t.full_name(settings.topic_prefix) in existing
        }
        if not topics:
            return {}
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in topics]
        have: dict[str, dict[str, str]] = {}
        for response in await admin.describe_configs(resources):
            for _, _, _, name, entries in response.resources:
                have[name] = {entry[0]: entry[1] for entry in entries}
        drift: Drift = {}
        for name, topic in topics.items():
            wanted = topic.config(settings.erasure_deadline_hours)
            found = have.get(name, {})
            differs = [(key, found.get(key), value) for key, value in wanted.items() if found.get(key) != value]
            if differs:
                drift[name] = differs
        return drift
    finally:
        await admin.close()
