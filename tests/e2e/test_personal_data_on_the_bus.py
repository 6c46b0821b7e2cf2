"""Personal data lives in one place on the bus, the export holds everything stored, and erasure reaches both.

A person with a distinctive value in every personal field signs up (with the IP and user agent of the
form), gets a welcome whose link names them, opens and clicks it; their export holds a row of every table
that mentions them. Then they are erased and sign up again. Read from the beginning, every topic holds
their values only in contacts.changes records, each followed by the tombstone under the same key; the
second sign-up left no row and no profile record.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contract.topics import CONTACTS, ENGAGEMENT, ERASED, EVERY_TOPIC
from tests.integration.scheduler.conftest import publish
from tests.integration.sender.conftest import eventually
from tests.support.stack import RealStack
from tests.support.system import System, link, running_system
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

TEMPLATE = """
id: privacy-hello
category: marketing
subject: "Welcome, {{ contact.first_name }} {{ contact.last_name }}"
preheader: "Your offer is inside."
html: |
  <html><body><img src="https://cdn.shop.example/logo.png" alt="The shop"><p>Hi {{ contact.first_name }},</p>
  <p><a href="https://shop.example/welcome?who={{ contact.external_id }}&amp;mail={{ contact.email }}">Offer</a></p>
  </body></html>
text: |
  Hi {{ contact.first_name }}, your offer: https://shop.example/welcome
tracking:
  opens: true
  clicks: true
"""
FLOW = """
id: privacy
name: Privacy welcome
category: marketing
triggers:
  - type: event
    event: signup
entry:
  frequency: once
steps:
  - id: hello
    type: send
    template: privacy-hello
"""


class Person:
    def __init__(self) -> None:
        run = uuid.uuid4().hex[:8]
        digits = f"{int(run, 16) % 10**6:06d}"
        self.email = f"ragnhild.{run}@privacy.example"
        self.phone = f"+4798{digits}"
        self.first_name, self.last_name = f"Ragnhild{run}", f"Fjellstad{run}"
        self.external_id = f"cust-{run}"
        self.attribute, self.tag = f"shoe-{run}", f"tag-{run}"
        self.ip, self.user_agent = f"203.0.113.{int(run[:2], 16) % 250 + 1}", f"PrivacyBrowser/{run}"

    def signup(self, event_id: str) -> dict[str, Any]:
        return {
            "type": "signup",
            "event_id": event_id,
            "contact": {
                "email": self.email,
                "phone": self.phone,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "external_id": self.external_id,
                "birthday": "1987-06-05",
                "attributes": {"favourite": self.attribute},
                "tags": [self.tag],
            },
            "source": "newsletter-form",
            "consent": {"marketing": True, "ip": self.ip, "user_agent": self.user_agent},
        }

    @property
    def values(self) -> list[str]:
        """What identifies the person: none of it may be on any topic but the profiles'."""
        return [
            self.email,
            self.email.replace("@", "%40"),
            self.phone,
            self.phone[1:],
            self.first_name,
            self.last_name,
            self.external_id,
            self.attribute,
            self.tag,
            self.ip,
            self.user_agent,
        ]


async def every_record(stack: RealStack, quiet: float = 2.0) -> list[tuple[str, str | None, bytes | None, str]]:
    """(topic, key, value, headers as text) of every record on every topic, read until `quiet` seconds pass
    without one."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # noqa: SLF001 - metadata for a fresh consumer
        partitions = [
            TopicPartition(topic.full_name(stack.topic_prefix), partition)
            for topic in EVERY_TOPIC
            for partition in consumer.partitions_for_topic(topic.full_name(stack.topic_prefix)) or ()
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records = []
        loop = asyncio.get_running_loop()
        last = loop.time()
        while loop.time() - last < quiet:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                last = loop.time()
                for record in batch:
                    name = record.topic.removeprefix(stack.topic_prefix)
                    key = record.key.decode() if record.key is not None else None
                    headers = json.dumps([(k, v.decode(errors="replace")) for k, v in record.headers])
                    records.append((name, key, record.value, headers))
        return records
    finally:
        await consumer.stop()


def mentions(values: list[str]) -> Callable[[str | None, bytes | None, str], bool]:
    def found(key: str | None, value: bytes | None, headers: str) -> bool:
        text = f"{key}\n{(value or b'').decode(errors='replace')}\n{headers}".lower()
        return any(needle.lower() in text for needle in values)

    return found


async def tables_mentioning(stack: RealStack, needle: str) -> set[str]:
    """Every table with a text-like column holding `needle`: found without asking Dripline's own code."""
    connection = await asyncpg.connect(stack.database_url)
    try:
        columns = await connection.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'jsonb', 'json')"
        )
        found = set()
        for row in columns:
            query = f'SELECT 1 FROM "{row["table_name"]}" WHERE "{row["column_name"]}"::text LIKE $1 LIMIT 1'
            if await connection.fetchval(query, f"%{needle}%"):
                found.add(row["table_name"])
        return found
    finally:
        await connection.close()


@pytest.fixture
async def system(stack: RealStack) -> Any:
    async with running_system(stack, "privacy") as system:
        await system.sender.runtime.templates.publish(system.workspace_id, TEMPLATE.strip())
        await publish(system.scheduler, FLOW)
        yield system


async def test_personal_data_is_only_on_contacts_changes_and_erasure_reaches_everywhere(system: System) -> None:
    person = Person()
    stack = system.stack
    assert (await system.ingest.post("/v1/events", json=person.signup("signup-1"))).status_code == 202
    contact_id = (await system.ingest.post("/v1/contacts", json={"email": person.email})).json()["contact_id"]

    [welcome] = await eventually(lambda: _mails(system, person.email), timeout=20, what="the welcome email")
    async with httpx.AsyncClient() as reader:
        browser = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird/115.0"}
        assert (await reader.get(link(welcome, "o"), headers=browser)).status_code == 200
        clicked = await reader.get(link(welcome, "c"), headers=browser)
        assert clicked.status_code == 302 and person.email in clicked.headers["location"]  # the reader gets it all
    await read_topic(
        stack, ENGAGEMENT, count=1, where=lambda r: r["contact_id"] == contact_id and r["kind"] == "clicked"
    )

    exports = 0

    async def exported() -> dict[str, Any] | None:
        nonlocal exports
        exports += 1
        document: dict[str, Any] = (await system.ingest.get(f"/v1/contacts/{contact_id}/export")).json()
        messages = document["data"].get("analytics_messages", [])
        # (Clicked milliseconds after delivery: counted as a scanner's click, which is fine here.)
        return document if messages and (messages[0]["clicks"] or messages[0]["machine_clicks"]) else None

    document = await eventually(exported, timeout=20, what="the click in the export")
    data = document["data"]
    # Every table that names them is in the export, but the audit log: it keeps, by design (docs/privacy.md),
    # the pseudonymous id of whoever was exported or erased, and nothing else about them.
    assert await tables_mentioning(stack, contact_id) - {"audit_log"} <= set(data)
    assert await _audited(stack, contact_id) == [("contact.exported", contact_id)] * exports  # each export, once
    assert data["contacts"][0]["profile"]["last_name"] == person.last_name
    assert {row["ip"] for row in data["consent_ledger"]} == {"203.0.113.0/24"}  # evidence: the network
    assert {row["user_agent"] for row in data["consent_ledger"]} == {person.user_agent}
    assert [row["subject"] for row in data["send_ledger"]] == [f"Welcome, {person.first_name} {person.last_name}"]
    assert {row["topic"] for row in data["contact_subscriptions"]} == {"*", "channel:email"}
    assert data["enrollments"] and data["contact_history"]

    assert (await system.ingest.delete(f"/v1/contacts/{contact_id}")).status_code == 200
    [notice] = await read_topic(stack, ERASED, count=1, where=lambda r: r["contact_id"] == contact_id)
    assert set(notice) - {"__key__", "__headers__"} == {
        "event_id",
        "workspace_id",
        "contact_id",
        "occurred_at",
        "received_at",
        "schema_version",
        "erased_at",
    }
    again = await system.ingest.post("/v1/events", json=person.signup("signup-after-erasure"))
    assert again.status_code == 202

    found = mentions(person.values)
    records = await every_record(stack)
    assert len({topic for topic, *_ in records}) >= 6  # the journey wrote to most topics
    elsewhere = [
        (topic, key) for topic, key, value, headers in records if topic != CONTACTS.name and found(key, value, headers)
    ]
    assert elsewhere == []
    profiles = [(key, value) for topic, key, value, headers in records if topic == CONTACTS.name]
    theirs = [index for index, (key, value) in enumerate(profiles) if found(key, value, "")]
    assert theirs  # the profile went out before the erasure
    key = profiles[theirs[0]][0]
    assert all(profiles[index][0] == key for index in theirs)
    tombstone = max(index for index, (k, value) in enumerate(profiles) if k == key and value is None)
    assert max(theirs) < tombstone  # nothing about them after the tombstone: the second sign-up published nothing
    assert (await tables_mentioning(stack, person.email.split("@")[0])) == set()
    assert await _audited(stack, contact_id) == [("contact.exported", contact_id)] * exports + [
        ("contact.erased", contact_id)
    ]


async def _audited(stack: RealStack, contact_id: str) -> list[tuple[str, str]]:
    """The audit entries that name a contact, oldest first: what was done to them, by id only."""
    connection = await asyncpg.connect(stack.database_url)
    try:
        rows = await connection.fetch(
            "SELECT action, target FROM audit_log WHERE to_jsonb(audit_log)::text LIKE $1 ORDER BY id",
            f"%{contact_id}%",
        )
        return [(row["action"], row["target"]) for row in rows]
    finally:
        await connection.close()


async def _mails(system: System, email: str) -> Any:
    return system.sender.mails_to(email) or None
