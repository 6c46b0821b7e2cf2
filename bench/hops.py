"""Where a sign-up's milliseconds go: the broker's record timestamps split POST → SMTP into hops.

Every record carries the time its producer wrote it, so reading the topics back after a run shows,
per sign-up, when ingest put it on the broker and when the scheduler's relay put its message
request there; the load generator knows when it was posted and the inbox when it was accepted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contract.topics import CONTACTS, MESSAGES_REQUESTED, SIGNUPS, Topic
from shared.kafka.client import client_options
from shared.settings import CommonSettings

# Name and what it covers, in the order a sign-up goes through them.
HOPS = (
    ("hop-ingest", "posted → sign-up record on the broker"),
    ("hop-scheduler", "sign-up record → message request on the broker: consume, enroll, relay"),
    ("hop-sender", "message request on the broker → accepted by SMTP: consume, render, send"),
)


@dataclass(frozen=True)
class Written:
    """When each contact's record was written to a topic (epoch seconds), and each email's contact."""

    at: dict[str, float]
    contacts: dict[str, str]


async def _read(settings: CommonSettings, topic: Topic) -> Written:
    """Every record of `topic`, from the beginning until it runs dry."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        name = topic.full_name(settings.topic_prefix)
        await consumer.topics()  # fetches the cluster's metadata, which partitions_for_topic reads
        partitions = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        at: dict[str, float] = {}
        contacts: dict[str, str] = {}
        # Until the topic runs dry: the embedded broker's end offsets run low, so they cannot say when.
        while batches := await consumer.getmany(timeout_ms=1000):
            for records in batches.values():
                for record in records:
                    if record.key is None or record.value is None:
                        continue
                    key = record.key.decode()
                    at.setdefault(key, record.timestamp / 1000)
                    profile = orjson.loads(record.value) if topic is CONTACTS else {}
                    if isinstance(profile.get("email"), str):  # keyed workspace/contact: the id is in the value
                        contacts[profile["email"]] = str(profile.get("contact_id"))
        return Written(at, contacts)
    finally:
        await consumer.stop()


def split(
    posted: Mapping[str, float],
    accepted: Mapping[str, float],
    contacts: Mapping[str, str],
    signed_up: Mapping[str, float],
    requested: Mapping[str, float],
) -> dict[str, list[float]]:
    """Per hop, the seconds each email spent in it (emails seen at every point only)."""
    hops: dict[str, list[float]] = {name: [] for name, _ in HOPS}
    for email, started in posted.items():
        contact = contacts.get(email)
        if contact is None or email not in accepted or contact not in signed_up or contact not in requested:
            continue
        points = (started, signed_up[contact], requested[contact], accepted[email])
        for (name, _), before, after in zip(HOPS, points, points[1:], strict=False):
            hops[name].append(after - before)
    return hops


async def hop_times(
    settings: CommonSettings, posted: Mapping[str, float], accepted: Sequence[tuple[float, str]]
) -> dict[str, list[float]]:
    """Seconds per hop for the emails in `posted` (email → when posted), read back from the broker."""
    contacts, signups, requests = await asyncio.gather(
        _read(settings, CONTACTS), _read(settings, SIGNUPS), _read(settings, MESSAGES_REQUESTED)
    )
    arrived = {email: at for at, email in accepted}
    return split(posted, arrived, contacts.contacts, signups.at, requests.at)
