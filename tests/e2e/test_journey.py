"""The whole loop through all four services: a sign-up posted over HTTP, a flow, mail in an SMTP inbox,
an open and a click back through the tracker, and the flow reacting to them.

Everything runs on topics of this module's own, so the services here are the only consumers.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from dripline.devstack.inbox import ReceivedMail
from shared.contract.topics import ENGAGEMENT
from tests.integration.scheduler.conftest import publish
from tests.integration.sender.conftest import EXAMPLES, Sender, eventually
from tests.support.stack import RealStack
from tests.support.system import System, link, running_system
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

TEMPLATES = ("welcome-hello", "welcome-day2-beginner", "welcome-other-angle", "welcome-checkin")
FLOW = """
id: journey
name: Welcome with a nudge
category: marketing
triggers:
  - type: event
    event: signup
entry:
  frequency: once
steps:
  - id: hello
    type: send
    template: welcome-hello
  - id: opened-hello
    type: wait_for
    event: message_opened
    of_step: hello
    timeout: 6s
    on_event: thanks
    on_timeout: nudge
  - id: thanks
    type: send
    template: welcome-day2-beginner
    next: later
  - id: nudge
    type: send
    template: welcome-other-angle
    next: later
  - id: later
    type: wait
    duration: 4s
  - id: check-in
    type: send
    template: welcome-checkin
"""


@dataclass
class Journey:
    system: System

    @property
    def sender(self) -> Sender:
        return self.system.sender

    async def sign_up(self, first_name: str = "Ingrid") -> str:
        email = f"journey.{uuid.uuid4().hex[:8]}@example.com"
        body = {
            "type": "signup",
            "contact": {"email": email, "first_name": first_name, "locale": "en"},
            "source": "newsletter-form",
            "consent": {"marketing": True},
        }
        response = await self.system.ingest.post("/v1/events", json=body)
        assert response.status_code == 202, response.text
        return email

    async def mails(self, email: str, count: int, timeout: float = 30.0) -> list[ReceivedMail]:
        async def arrived() -> list[ReceivedMail] | None:
            mails = self.sender.mails_to(email)
            return mails if len(mails) >= count else None

        return await eventually(arrived, timeout=timeout, what=f"{count} mails to {email}")


@pytest.fixture(scope="module")
async def journey(stack: RealStack) -> AsyncIterator[Journey]:
    async with running_system(stack, "journey") as system:
        for template in TEMPLATES:
            await system.sender.runtime.templates.publish(
                system.workspace_id, (EXAMPLES / f"{template}.yaml").read_text()
            )
        await publish(system.scheduler, FLOW)
        yield Journey(system)


async def test_a_signup_gets_a_compliant_welcome_and_an_open_takes_the_opened_branch(journey: Journey) -> None:
    email = await journey.sign_up()
    [welcome] = await journey.mails(email, 1)
    assert welcome.subject == "Welcome, Ingrid"
    headers = welcome.message
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in headers["List-Unsubscribe"] and "mailto:" in headers["List-Unsubscribe"]
    assert headers["List-Id"]
    text = welcome.part("plain") or ""
    assert "via our website's sign-up form" in text  # why they get it: how (and when) they signed up, in words

    async with httpx.AsyncClient() as reader:
        pixel = await reader.get(
            link(welcome, "o"), headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird"}
        )
        assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
        click = await reader.get(link(welcome, "c"), follow_redirects=False)
        assert click.status_code == 302 and click.headers["location"] == "https://example.com/start"

    mails = await journey.mails(email, 2)
    assert mails[1].subject != "" and "other-angle" not in mails[1].subject
    opened_branch = (EXAMPLES / "welcome-day2-beginner.yaml").read_text()
    assert _subject_of(opened_branch).split("{")[0].strip()[:12] in mails[1].subject

    kinds = await _engagement_kinds(journey, email_message_id=_message_id(welcome), count=2)
    assert {"opened", "clicked"} <= kinds


async def test_without_an_open_the_timeout_branch_sends_another_angle(journey: Journey) -> None:
    email = await journey.sign_up("Nils")
    await journey.mails(email, 1)
    mails = await journey.mails(email, 2, timeout=20)
    other_angle = (EXAMPLES / "welcome-other-angle.yaml").read_text()
    assert _subject_of(other_angle).split("{")[0].strip()[:12] in mails[1].subject


async def test_a_one_click_unsubscribe_stops_every_later_marketing_step(journey: Journey) -> None:
    email = await journey.sign_up("Astrid")
    [welcome] = await journey.mails(email, 1)
    unsubscribe = re.search(r"<(http[^>]+/u/[^>]+)>", welcome.message["List-Unsubscribe"])
    assert unsubscribe
    async with httpx.AsyncClient() as mailbox_provider:
        answer = await mailbox_provider.post(unsubscribe.group(1), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    # The flow would send at ~6 s (timeout branch) and ~10 s (check-in): wait past both.
    await asyncio.sleep(12)
    assert len(journey.sender.mails_to(email)) == 1


def _subject_of(template_source: str) -> str:
    match = re.search(r'^subject:\s*"?(.+?)"?$', template_source, flags=re.M)
    assert match
    return match.group(1)


def _message_id(mail: ReceivedMail) -> str:
    return str(mail.message["Message-ID"])


async def _engagement_kinds(journey: Journey, *, email_message_id: str, count: int) -> set[str]:
    records = await read_topic(
        journey.system.stack,
        ENGAGEMENT,
        count=count,
        where=lambda r: r.get("workspace_id") == journey.system.workspace_id,
    )
    return {record["kind"] for record in records}
