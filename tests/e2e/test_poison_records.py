"""Malformed and hostile records straight onto every topic a service consumes, bypassing ingest: bad JSON,
a schema version nobody knows, a NUL, a huge field, a contact nobody knows. Afterwards a sign-up still gets
its welcome, the analytics fold still counts it, every service is ready, and each bad record is on the
dead-letter topic once per consumer group that gave up on it, while the hostile-but-valid ones are handled.

One system, on topics of its own, takes all of them at once; each row of the table is then a test of what
became of its record.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.scheduler.analytics.workers.fold import CONSUMER as FOLD_GROUP
from services.scheduler.analytics.workers.fold import TOPICS as FOLD_TOPICS
from services.scheduler.workers.intake import CONSUMER as INTAKE_GROUP
from services.scheduler.workers.intake import TOPICS as INTAKE_TOPICS
from services.sender.workers.runtime import CONSUMER_GROUP as SENDER_GROUP
from shared.contract.topics import (
    CARTS,
    CONTACTS,
    DEAD_LETTERS,
    ENGAGEMENT,
    EVENTS,
    MESSAGES_REQUESTED,
    MESSAGES_STATUS,
    PURCHASES,
    SIGNUPS,
    TRANSITIONS,
    Topic,
)
from shared.kafka.codec import headers_of
from shared.kafka.producer import OutgoingRecord, Producer
from shared.settings import CommonSettings
from tests.integration.sender.conftest import eventually
from tests.support.stack import RealStack
from tests.support.system import System, running_system
from tests.support.topics import RecordDict, read_topic
from tests.support.tuned import FAST, Tuned, all_ready, welcome_on_signup

pytestmark = pytest.mark.stack

# Who reads what, from the services' own lists.
GROUPS: dict[str, tuple[Topic, ...]] = {
    INTAKE_GROUP: INTAKE_TOPICS,
    FOLD_GROUP: FOLD_TOPICS,
    SENDER_GROUP: (MESSAGES_REQUESTED,),
}
TOPICS = tuple(dict.fromkeys(topic for topics in GROUPS.values() for topic in topics))
# What makes each topic's record valid beyond the envelope, and a field a shop or a peer may fill freely.
BODIES: dict[str, dict[str, Any]] = {
    SIGNUPS.name: {"type": "signup"},
    PURCHASES.name: {"type": "purchase", "order_id": "o-1", "revenue": "10", "currency": "NOK"},
    CARTS.name: {"type": "cart_updated"},
    EVENTS.name: {"type": "track", "name": "poked"},
    CONTACTS.name: {"op": "upsert"},
    ENGAGEMENT.name: {"kind": "opened", "message_id": "m-nobody-sent"},
    MESSAGES_STATUS.name: {"message_id": "m-nobody-sent", "status": "sent", "channel": "email"},
    MESSAGES_REQUESTED.name: {"channel": "email", "template_id": "welcome-hello"},
    TRANSITIONS.name: {"kind": "entered", "flow_id": "welcome", "flow_version": 1},
}
FREE_FIELD: dict[str, tuple[str, Callable[[str], Any]]] = {
    CONTACTS.name: ("attributes", lambda text: {"note": text}),
    ENGAGEMENT.name: ("url", lambda text: f"https://example.com/{text}"),
    MESSAGES_STATUS.name: ("detail", lambda text: text),
    MESSAGES_REQUESTED.name: ("variables", lambda text: {"note": text}),
    TRANSITIONS.name: ("reason", lambda text: text),
}
HUGE = "x" * 400_000


def valid(topic: Topic, workspace_id: str, contact_id: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    envelope = {"workspace_id": workspace_id, "contact_id": contact_id, "occurred_at": now, "received_at": now}
    value = {"event_id": f"e-{uuid.uuid4().hex[:16]}", **envelope, **BODIES[topic.name]}
    topic.adapter().validate_python(value)  # the base of every case fits the schema
    return value


def encoded(topic: Topic, key: str, value: dict[str, Any], version: int = 1) -> OutgoingRecord:
    """The record as a producer writes it: JSON value, schema headers."""
    schema = type(topic.adapter().validate_python(valid(topic, "w", "c"))).__name__
    return OutgoingRecord(
        topic, key, orjson.dumps({**value, "schema_version": version}), headers_of(schema, version, None)
    )


def bad_json(topic: Topic, workspace_id: str, key: str) -> OutgoingRecord:
    text = orjson.dumps(valid(topic, workspace_id, key))
    return OutgoingRecord(topic, key, text[: len(text) // 2], headers_of("Unknown", 1, None))


def unknown_version(topic: Topic, workspace_id: str, key: str) -> OutgoingRecord:
    return encoded(topic, key, valid(topic, workspace_id, key), version=99)


def nul(topic: Topic, workspace_id: str, key: str) -> OutgoingRecord:
    """A NUL in the contact id: JSON and the schema allow it, PostgreSQL text does not."""
    return encoded(topic, key, {**valid(topic, workspace_id, key), "contact_id": f"{key}\x00"})


def huge(topic: Topic, workspace_id: str, key: str) -> OutgoingRecord:
    """400 kB in the topic's free field (properties of shop events)."""
    name, fill = FREE_FIELD.get(topic.name, ("properties", lambda text: {"note": text}))
    return encoded(topic, key, {**valid(topic, workspace_id, key), name: fill(HUGE)})


def unknown_contact(topic: Topic, workspace_id: str, key: str) -> OutgoingRecord:
    return encoded(topic, key, valid(topic, workspace_id, key))


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Topic, str, str], OutgoingRecord]
    dead_lettered_by: Callable[[Topic], set[str]]  # the consumer groups that must give it up

    def key(self, topic: Topic) -> str:
        return f"poison.{self.name}.{topic.name}"


def readers(topic: Topic) -> set[str]:
    return {group for group, topics in GROUPS.items() if topic in topics}


def nobody(topic: Topic) -> set[str]:
    return set()


CASES = (
    Case("bad-json", bad_json, readers),
    Case("unknown-version", unknown_version, readers),
    Case("nul", nul, readers),
    Case("huge", huge, nobody),
    Case("unknown-contact", unknown_contact, nobody),
)
# Known gaps, kept visible until fixed: strict, so a fix turns them into failures to remove from here.
NOT_YET: dict[str, str] = {}


@dataclass
class Aftermath:
    system: System
    sent: dict[str, OutgoingRecord]  # by record key
    letters: dict[tuple[str, str], RecordDict]  # (record key, consumer group) → dead letter


@pytest.fixture(scope="module")
async def aftermath(stack: RealStack) -> AsyncIterator[Aftermath]:
    tuning = {**FAST, "consumer_poison_attempts": 2}
    async with running_system(
        Tuned(stack.database_url, stack.bootstrap, stack.topic_prefix, None, tuning), "x"
    ) as system:
        await welcome_on_signup(system)
        sent = {
            case.key(topic): case.build(topic, system.workspace_id, case.key(topic))
            for case in CASES
            for topic in TOPICS
        }
        producer = Producer(system.stack.settings(CommonSettings))
        await producer.start()
        try:
            for record in sent.values():
                await producer.send_all([record])
        finally:
            await producer.stop()

        email = f"after.poison.{uuid.uuid4().hex[:8]}@example.com"
        body = {"type": "signup", "contact": {"email": email, "first_name": "Solveig"}, "consent": {"marketing": True}}
        assert (await system.ingest.post("/v1/events", json=body)).status_code == 202
        [welcome] = await eventually(lambda: _mails(system, email), timeout=60, what="the welcome after the poison")
        assert "Hi Solveig," in (welcome.part("plain") or "")
        await eventually(lambda: _delivered(system), timeout=30, what="analytics to count the welcome")

        for group, topics in GROUPS.items():
            for topic in topics:
                await moved_past(system.stack, group, topic, await positions(system.stack, topic))
        found = await read_topic(
            system.stack, DEAD_LETTERS, count=1, where=lambda r: str(r["__key__"]).startswith("poison."), to_end=True
        )
        letters = {(str(r["__key__"]), r["__headers__"]["source-group"]): r for r in found}
        assert len(letters) == len(found), "a record was dead-lettered twice by one group"
        urls = [str(system.ingest.base_url), str(system.scheduler.base_url), system.sender.url, system.tracker_url]
        await all_ready(url.rstrip("/") for url in urls)
        yield Aftermath(system, sent, letters)


async def positions(stack: RealStack, topic: Topic) -> dict[TopicPartition, int]:
    """Per partition, the offset of the last poison record on it (records are waited for, not end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        name = topic.full_name(stack.topic_prefix)
        assignment = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        assert assignment, f"no partitions of {name}"
        consumer.assign(assignment)
        await consumer.seek_to_beginning(*assignment)
        last: dict[TopicPartition, int] = {}
        seen = 0
        async with asyncio.timeout(15):
            while seen < len(CASES):
                for partition, records in (await consumer.getmany(timeout_ms=100)).items():
                    for record in records:
                        if record.key and record.key.startswith(b"poison."):
                            seen += 1
                            last[partition] = max(last.get(partition, -1), record.offset)
        return last
    finally:
        await consumer.stop()


async def moved_past(stack: RealStack, group: str, topic: Topic, last: dict[TopicPartition, int]) -> None:
    """The group committed past every poison record of `topic`: each was handled or dead-lettered."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.bootstrap, group_id=f"{stack.topic_prefix}{group}", enable_auto_commit=False
    )
    await consumer.start()
    try:

        async def past() -> bool:
            for partition, offset in last.items():
                committed = await consumer.committed(partition)
                if committed is None or committed <= offset:
                    return False
            return True

        await eventually(past, timeout=30, what=f"{group} to move past the poison on {topic.name}")
    finally:
        await consumer.stop()


async def _mails(system: System, email: str) -> list[Any] | None:
    return system.sender.mails_to(email) or None


async def _delivered(system: System) -> bool:
    report = await system.scheduler.get("/v1/reports/flows/welcome")
    return report.status_code == 200 and report.json()["summary"]["counts"]["delivered"] >= 1


ROWS = [
    pytest.param(
        case,
        topic,
        id=f"{case.name}-{topic.name}",
        marks=[pytest.mark.xfail(strict=True, reason=NOT_YET[case.name])] if case.name in NOT_YET else [],
    )
    for case in CASES
    for topic in TOPICS
]


@pytest.mark.parametrize(("case", "topic"), ROWS)
def test_each_record_is_dead_lettered_by_the_groups_that_cannot_take_it_and_handled_by_the_rest(
    aftermath: Aftermath, case: Case, topic: Topic
) -> None:
    key = case.key(topic)
    given_up = {group for (letter_key, group) in aftermath.letters if letter_key == key}
    assert given_up == case.dead_lettered_by(topic)
    for group in given_up:
        letter = aftermath.letters[(key, group)]
        headers = letter["__headers__"]
        assert headers["source-topic"] == topic.full_name(aftermath.system.stack.topic_prefix)
        assert headers["reason"]
        assert HUGE[:100] not in orjson.dumps(letter).decode(), "a dead letter keeps ids only"


@pytest.mark.parametrize(
    "case", [case for case in CASES if not case.dead_lettered_by(MESSAGES_REQUESTED)], ids=lambda case: case.name
)
async def test_a_request_for_a_contact_nobody_knows_ends_with_a_recorded_outcome_and_no_mail(
    aftermath: Aftermath, case: Case
) -> None:
    record = aftermath.sent[case.key(MESSAGES_REQUESTED)]
    message_id = orjson.loads(record.value or b"{}")["event_id"]
    row = await aftermath.system.sender.db.fetchrow(
        "SELECT state, reported FROM send_ledger WHERE message_id = $1", message_id
    )
    assert row is not None and row["state"] in ("failed", "suppressed") and row["reported"], row
