"""The whole loop through all four services: a sign-up posted over HTTP, a flow, mail in an SMTP inbox,
an open and a click back through the tracker, and the flow reacting to them.

Everything runs on topics of this module's own, so the services here are the only consumers.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from dripline.devstack.broker import free_port
from dripline.devstack.inbox import ReceivedMail
from services.ingest.app import create_app as create_ingest
from services.tracker.app import create_app as create_tracker
from shared.contract.topics import ENGAGEMENT
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings, IngestSettings, TrackerSettings
from tests.integration.scheduler.conftest import new_workspace, publish, running_scheduler
from tests.integration.sender.conftest import EXAMPLES, Sender, eventually, running_sender
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

KEYS = SecretStr("j1:journey-test-signing-secret-0123")
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
    workspace_id: str
    shop: httpx.AsyncClient
    sender: Sender
    tracker_url: str
    stack: RealStack

    async def sign_up(self, first_name: str = "Ingrid") -> str:
        email = f"journey.{uuid.uuid4().hex[:8]}@example.com"
        body = {
            "type": "signup",
            "contact": {"email": email, "first_name": first_name, "locale": "en"},
            "source": "newsletter-form",
            "consent": {"marketing": True},
        }
        response = await self.shop.post("/v1/events", json=body)
        assert response.status_code == 202, response.text
        return email

    async def mails(self, email: str, count: int, timeout: float = 15.0) -> list[ReceivedMail]:
        async def arrived() -> list[ReceivedMail] | None:
            mails = self.sender.mails_to(email)
            return mails if len(mails) >= count else None

        return await eventually(arrived, timeout=timeout, what=f"{count} mails to {email}")


@pytest.fixture(scope="module")
async def journey(stack: RealStack, ingest_url: str) -> AsyncIterator[Journey]:
    prefix = f"{stack.topic_prefix}journey{secrets.token_hex(2)}."
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    workspace_id, key = await new_workspace(stack)
    connection = await asyncpg.connect(stack.database_url)
    try:
        await connection.execute(
            "UPDATE workspaces SET settings = settings || $2::jsonb WHERE id = $1",
            workspace_id,
            json.dumps({"double_opt_in": False}),
        )
    finally:
        await connection.close()
    tracker_port = free_port()
    tracker_url = f"http://127.0.0.1:{tracker_port}"
    shared = {"topic_prefix": prefix, "link_signing_keys": KEYS, "tracker_public_url": tracker_url}
    async with (
        serving(create_tracker(stack.settings(TrackerSettings, **shared)), port=tracker_port),
        serving(create_ingest(stack.settings(IngestSettings, **shared))) as own_ingest,
        httpx.AsyncClient(base_url=own_ingest, headers={"X-Api-Key": key}, timeout=30) as shop,
        running_sender(
            stack, key, topic_prefix=prefix, tracker_public_url=tracker_url, link_signing_keys=KEYS
        ) as sender,
        running_scheduler(
            stack, topic_prefix=prefix, link_signing_keys=KEYS, tracker_public_url=tracker_url
        ) as scheduler,
        httpx.AsyncClient(base_url=scheduler.url, headers={"X-Api-Key": key}, timeout=30) as flows,
    ):
        for template in TEMPLATES:
            await sender.runtime.templates.publish(workspace_id, (EXAMPLES / f"{template}.yaml").read_text())
        await publish(flows, FLOW)
        yield Journey(workspace_id, shop, sender, tracker_url, stack)


def link(mail: ReceivedMail, path: str) -> str:
    html = mail.part("html") or ""
    match = re.search(rf'(?:href|src)="([^"]+/{path}/[^"]+)"', html)
    assert match, f"no /{path}/ link in {mail.subject!r}"
    return unescape(match.group(1))


async def test_a_signup_gets_a_compliant_welcome_and_an_open_takes_the_opened_branch(journey: Journey) -> None:
    email = await journey.sign_up()
    [welcome] = await journey.mails(email, 1)
    assert welcome.subject == "Welcome, Ingrid"
    headers = welcome.message
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in headers["List-Unsubscribe"] and "mailto:" in headers["List-Unsubscribe"]
    assert headers["List-Id"]
    text = welcome.part("plain") or ""
    assert "newsletter-form" in text  # why they get it: where (and when) they signed up

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
    stack = journey.sender.runtime.settings.topic_prefix
    own = RealStack(journey.stack.database_url, journey.stack.bootstrap, stack, None)
    records = await read_topic(
        own, ENGAGEMENT, count=count, where=lambda r: r.get("workspace_id") == journey.workspace_id
    )
    return {record["kind"] for record in records}
