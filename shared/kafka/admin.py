"""Creates the contract's topics with their partition counts and configs."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

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
                topic_configs=topic.config(),
            )
            for topic in EVERY_TOPIC
            if topic.full_name(settings.topic_prefix) not in existing
        ]
        if wanted:
            await admin.create_topics(wanted)
        return [topic.name for topic in wanted]
    finally:
        await admin.close()
