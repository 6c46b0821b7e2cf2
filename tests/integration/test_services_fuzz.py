"""The same bounded fuzz as ingest's, on the scheduler, sender and tracker OpenAPI: no answer is a 5xx.

Each service runs on topics of its own (so its consumers take nobody else's records) and is
fuzzed with a workspace of its own; afterwards it is still ready.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from dripline.devstack.inbox import ReceivedMail
from services.tracker.app import create_app as create_tracker
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings
from tests.integration.scheduler.conftest import new_workspace, running_scheduler
from tests.integration.sender.conftest import eventually, running_sender
from tests.integration.tracker.conftest import tracker_settings
from tests.support.fuzz import FuzzReport, fuzz_openapi
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.system import running_system

pytestmark = pytest.mark.stack
EXAMPLES = 15
WELCOME_FLOW = """
id: fuzz-welcome
name: Welcome after the fuzz
triggers:
  - type: event
    event: signup
steps:
  - {id: hello, type: send, template: fuzz-welcome}
"""
WELCOME = """
id: fuzz-welcome
category: marketing
subject: "Welcome, {{ contact.first_name | default: 'friend' }}"
html: "<p>Hi {{ contact.first_name | default: 'friend' }}, glad you are here.</p>"
text: "Hi {{ contact.first_name | default: 'friend' }}, glad you are here."
"""


@asynccontextmanager
async def own_topics(stack: RealStack, name: str) -> AsyncIterator[str]:
    prefix = f"{stack.topic_prefix}{name}{secrets.token_hex(2)}."
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    yield prefix


async def still_ready(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/readyz")).status_code == 200


def assert_no_server_error(report: FuzzReport) -> None:
    assert not report.server_errors, "\n".join(report.server_errors)
    assert report.requests > 50, report.statuses


async def test_fuzzing_the_scheduler_api_gets_no_server_error(stack: RealStack) -> None:
    _, key = await new_workspace(stack)
    async with own_topics(stack, "fuzzsch") as prefix, running_scheduler(stack, topic_prefix=prefix) as scheduler:
        report = await fuzz_openapi(scheduler.url, {"Authorization": f"Bearer {key}"}, examples=EXAMPLES)
        assert_no_server_error(report)
        await still_ready(scheduler.url)


async def test_fuzzing_the_sender_api_gets_no_server_error(stack: RealStack) -> None:
    _, key = await new_workspace(stack)
    async with own_topics(stack, "fuzzsnd") as prefix, running_sender(stack, key, topic_prefix=prefix) as sender:
        report = await fuzz_openapi(sender.url, {"Authorization": f"Bearer {key}"}, examples=EXAMPLES)
        assert_no_server_error(report)
        await still_ready(sender.url)


async def test_fuzzing_the_tracker_api_gets_no_server_error(stack: RealStack) -> None:
    _, key = await new_workspace(stack)
    async with own_topics(stack, "fuzztrk") as prefix:
        settings = tracker_settings(stack, topic_prefix=prefix)
        async with serving(create_tracker(settings)) as url:
            report = await fuzz_openapi(url, {"Authorization": f"Bearer {key}"}, examples=EXAMPLES)
            assert_no_server_error(report)
            await still_ready(url)


async def test_after_fuzzing_all_four_services_each_is_ready_and_a_sign_up_still_gets_its_email(
    stack: RealStack,
) -> None:
    """One running system fuzzed with another workspace's key, service by service; then the shop's own sign-up
    goes the whole way, from the ingest API to the SMTP inbox."""
    _, intruder = await new_workspace(stack)
    async with running_system(stack, "fuzzall") as system:
        await system.sender.runtime.templates.publish(system.workspace_id, WELCOME)
        published = await system.scheduler.post(
            "/v1/flows", content=WELCOME_FLOW, headers={"Content-Type": "application/yaml"}
        )
        assert published.status_code in (200, 201), published.text
        urls = (str(system.ingest.base_url), str(system.scheduler.base_url), system.sender.url, system.tracker_url)
        for url in urls:
            report = await fuzz_openapi(url, {"Authorization": f"Bearer {intruder}"}, examples=3)
            assert not report.server_errors, "\n".join(report.server_errors)
            await still_ready(url)

        email = f"after.fuzz.{uuid.uuid4().hex[:8]}@example.com"
        signup = {"type": "signup", "contact": {"email": email, "first_name": "Kari"}, "consent": {"marketing": True}}
        assert (await system.ingest.post("/v1/events", json=signup)).status_code == 202

        async def arrived() -> list[ReceivedMail]:
            return system.sender.mails_to(email)

        [mail] = await eventually(arrived, timeout=60, what="the welcome after the fuzz")
        assert mail.subject == "Welcome, Kari"
        assert "Hi Kari, glad you are here." in (mail.part("plain") or "")
