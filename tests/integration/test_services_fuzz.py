"""The same bounded fuzz as ingest's, on the scheduler, sender and tracker OpenAPI: no answer is a 5xx.

Each service runs on topics of its own (so its consumers take nobody else's records) and is
fuzzed with a workspace of its own; afterwards it is still ready.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from services.tracker.app import create_app as create_tracker
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings
from tests.integration.scheduler.conftest import new_workspace, running_scheduler
from tests.integration.sender.conftest import running_sender
from tests.integration.tracker.conftest import tracker_settings
from tests.support.fuzz import FuzzReport, fuzz_openapi
from tests.support.servers import serving
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack
EXAMPLES = 15


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


# Strict: once the 5xx found are fixed the test passes, and the marker must go.
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
