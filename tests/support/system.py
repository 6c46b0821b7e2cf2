"""All four services on topics of a test module's own, sharing one set of link-signing keys.

For tests that follow a person through the whole loop: HTTP in, flows, mail in an SMTP inbox,
opens and clicks back through the tracker.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html import unescape

import asyncpg
import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from dripline.devstack.broker import free_port
from dripline.devstack.inbox import ReceivedMail
from services.ingest.app import create_app as create_ingest
from services.tracker.app import create_app as create_tracker
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings, IngestSettings, TrackerSettings
from tests.integration.scheduler.conftest import new_workspace, running_scheduler
from tests.integration.sender.conftest import Sender, running_sender
from tests.support.servers import serving
from tests.support.stack import RealStack

KEYS = SecretStr("j1:system-test-signing-secret-0123")


@dataclass
class System:
    workspace_id: str
    key: str
    ingest: httpx.AsyncClient  # the shop's client of the ingest API
    scheduler: httpx.AsyncClient  # the shop's client of the scheduler API
    scheduler_app: FastAPI
    sender: Sender
    tracker_url: str
    stack: RealStack  # with this system's topic prefix
    feedback_smtp_port: int = 0  # the tracker's SMTP receiver of complaint reports and mailto unsubscribes


async def single_opt_in_workspace(stack: RealStack) -> tuple[str, str]:
    """A workspace of the test's own with marketing rules and double opt-in off."""
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
    return workspace_id, key


@asynccontextmanager
async def running_system(stack: RealStack, name: str) -> AsyncIterator[System]:
    prefix = f"{stack.topic_prefix}{name}{secrets.token_hex(2)}."
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    workspace_id, key = await single_opt_in_workspace(stack)
    tracker_port = free_port()
    tracker_url = f"http://127.0.0.1:{tracker_port}"
    feedback_port = free_port()
    shared = {"topic_prefix": prefix, "link_signing_keys": KEYS, "tracker_public_url": tracker_url}
    headers = {"X-Api-Key": key}
    async with (
        serving(
            create_tracker(stack.settings(TrackerSettings, **shared, tracker_feedback_smtp_port=feedback_port)),
            port=tracker_port,
        ),
        serving(create_ingest(stack.settings(IngestSettings, **shared))) as ingest_url,
        httpx.AsyncClient(base_url=ingest_url, headers=headers, timeout=30) as ingest,
        running_sender(stack, key, **shared) as sender,
        running_scheduler(stack, **shared, console_sender_url=sender.url) as scheduler,
        httpx.AsyncClient(base_url=scheduler.url, headers=headers, timeout=30) as scheduler_client,
    ):
        own = RealStack(stack.database_url, stack.bootstrap, prefix, None)
        yield System(
            workspace_id, key, ingest, scheduler_client, scheduler.app, sender, tracker_url, own, feedback_port
        )


def link(mail: ReceivedMail, path: str) -> str:
    """The first link (or pixel) of a kind in a mail's HTML: `o` open, `c` click, `u` unsubscribe."""
    match = re.search(rf'(?:href|src)="([^"]+/{path}/[^"]+)"', mail.part("html") or "")
    assert match, f"no /{path}/ link in {mail.subject!r}"
    return unescape(match.group(1))
