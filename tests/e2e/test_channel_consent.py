"""Consent per channel through all four services: a flow with a text and an email, and two people who
agreed to different channels. Only the one who agreed to SMS gets the text; the other's SMS step is
skipped with its reason on flows.transitions, and both get the email."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TypeVar

import pytest

from shared.contract.topics import TRANSITIONS
from tests.integration.scheduler.conftest import publish
from tests.integration.sender.conftest import EXAMPLES, eventually
from tests.support.stack import RealStack
from tests.support.system import System, running_system
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack
T = TypeVar("T")

FLOW = """
id: text-and-mail
name: A text, then an email
category: marketing
triggers:
  - type: event
    event: signup
steps:
  - id: text
    type: send
    channel: sms
    template: welcome-hello
  - id: mail
    type: send
    template: welcome-hello
"""


@pytest.fixture(scope="module")
async def system(stack: RealStack) -> AsyncIterator[System]:
    async with running_system(stack, "channels") as running:
        await running.sender.runtime.templates.publish(
            running.workspace_id, (EXAMPLES / "welcome-hello.yaml").read_text()
        )
        await publish(running.scheduler, FLOW)
        yield running


async def _sign_up(system: System, first_name: str, consent: dict[str, object]) -> tuple[str, str]:
    email = f"{first_name.lower()}.{uuid.uuid4().hex[:8]}@example.com"
    phone = f"+4791{uuid.uuid4().int % 1_000_000:06d}"
    body = {
        "type": "signup",
        "contact": {"email": email, "phone": phone, "first_name": first_name, "locale": "en"},
        "consent": consent,
    }
    response = await system.ingest.post("/v1/events", json=body)
    assert response.status_code == 202, response.text
    return email, phone


async def test_an_sms_step_reaches_only_the_person_who_agreed_to_sms(system: System) -> None:
    kari_email, kari_phone = await _sign_up(system, "Kari", {"marketing": True})  # plain: email only
    ola_email, ola_phone = await _sign_up(system, "Ola", {"marketing": True, "channels": ["email", "sms"]})
    sender = system.sender

    await eventually(lambda: _nonempty(sender.mails_to(kari_email)), timeout=20, what="Kari's email")
    await eventually(lambda: _nonempty(sender.mails_to(ola_email)), timeout=20, what="Ola's email")
    texts = await eventually(
        lambda: _nonempty([t for t in sender.inbox.texts if t.to == ola_phone]), timeout=20, what="Ola's text"
    )
    assert texts[0].body.startswith("Hi Ola,")
    assert sender.mails_to(kari_email)[0].subject == "Welcome, Kari"

    skipped = await read_topic(
        system.stack,
        TRANSITIONS,
        count=1,
        where=lambda r: r["flow_id"] == "text-and-mail" and r["kind"] == "skipped",
        settle=1.0,
    )
    assert [(r["step_id"], r["reason"]) for r in skipped] == [("text", "no consent to SMS marketing")]
    assert [t for t in sender.inbox.texts if t.to == kari_phone] == []  # the SMS sink got nothing for Kari

    report = (await system.scheduler.get("/v1/reports/consent")).json()
    assert report == {
        "channels": [
            {"channel": "email", "subscribed": 2, "pending": 0, "unsubscribed": 0, "expired": 0},
            {"channel": "sms", "subscribed": 1, "pending": 0, "unsubscribed": 0, "expired": 0},
        ]
    }


async def _nonempty(items: list[T]) -> list[T] | None:
    return items or None


TOPIC_FLOW = """
id: monthly-letter
name: Monthly letter ({n})
category: marketing
topic: monthly
triggers:
  - type: event
    event: signup
steps:
  - id: mail
    type: send
    template: welcome-hello
"""


async def test_publishing_a_flow_warns_when_the_caps_allow_more_than_its_topic_promises(system: System) -> None:
    promise = {"text": {"en": "One letter a month"}, "messages": 1, "days": 30}
    assert (await system.ingest.put("/v1/topics/monthly", json={"name": "Monthly", "promise": promise})).is_success
    caps = {"caps": [{"channel": "email", "max_messages": 2, "window": "7d"}]}
    assert (await system.scheduler.put("/v1/policy", json=caps)).is_success

    loose = await publish(system.scheduler, TOPIC_FLOW.format(n=1))
    assert loose["warnings"] == [
        "topic monthly: the frequency caps allow 10 marketing emails in 30 days, more than the 1 in 30 days promised"
    ]
    caps["caps"][0] |= {"max_messages": 1, "window": "30d"}
    assert (await system.scheduler.put("/v1/policy", json=caps)).is_success
    kept = await publish(system.scheduler, TOPIC_FLOW.format(n=2))
    assert kept["warnings"] == []
