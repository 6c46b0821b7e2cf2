"""A whole shop on topics of its own: ingest, scheduler (with analytics), sender with an SMTP inbox, tracker."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from dripline.devstack.broker import free_port
from dripline.devstack.inbox import ReceivedMail
from services.ingest.app import create_app as create_ingest
from services.scheduler.analytics.runtime import Analytics
from services.tracker.app import create_app as create_tracker
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings, IngestSettings, TrackerSettings
from tests.integration.scheduler.conftest import new_workspace, publish, running_scheduler, until
from tests.integration.sender.conftest import EXAMPLES, Sender, running_sender
from tests.support.servers import serving
from tests.support.stack import RealStack

KEYS = SecretStr("a1:analytics-test-signing-secret-0123")
TEMPLATES = {"a": "welcome-hello", "b": "welcome-other-angle"}
FLOW = """
id: subject-test
name: Subject line test
category: marketing
triggers: [{type: event, event: signup}]
goals: [{id: bought, event: purchase}]
steps:
  - id: pick
    type: split
    variants: [{id: a, weight: 1, next: send_a}, {id: b, weight: 1, next: send_b}]
    auto_winner: {metric: opened, min_sample: 50, confidence: 0.95}
  - {id: send_a, type: send, template: welcome-hello, next: linger}
  - {id: send_b, type: send, template: welcome-other-angle, next: linger}
  - {id: linger, type: wait, duration: 1h}
  - {id: done, type: exit}
"""


@dataclass
class Shop:
    workspace_id: str
    key: str
    ingest: httpx.AsyncClient
    reports: httpx.AsyncClient
    scheduler: FastAPI
    sender: Sender
    tracker_url: str
    stack: RealStack

    @property
    def analytics(self) -> Analytics:
        analytics: Analytics = self.scheduler.state.resources.extras["analytics"]
        return analytics

    def own_stack(self) -> RealStack:
        return RealStack(self.stack.database_url, self.stack.bootstrap, self.sender.runtime.settings.topic_prefix, None)

    async def sign_up(self, count: int, tag: str) -> list[str]:
        emails = [f"reader.{tag}.{n}.{uuid.uuid4().hex[:6]}@example.com" for n in range(count)]
        events = [
            {"type": "signup", "contact": {"email": e, "first_name": f"R{n}"}, "consent": {"marketing": True}}
            for n, e in enumerate(emails)
        ]
        response = await self.ingest.post("/v1/events/batch", json={"events": events})
        assert response.status_code == 202, response.text
        return emails

    async def buy(self, email: str, order_id: str, revenue: str) -> None:
        body: dict[str, Any] = {"type": "purchase", "contact": {"email": email}, "order_id": order_id}
        body |= {"revenue": revenue, "currency": "NOK"}
        response = await self.ingest.post("/v1/events", json=body)
        assert response.status_code == 202, response.text

    async def report(self, path: str, **params: Any) -> Any:
        response = await self.reports.get(f"/v1/reports{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()


def link(mail: ReceivedMail, path: str) -> str:
    match = re.search(rf'(?:href|src)="([^"]+/{path}/[^"]+)"', mail.part("html") or "")
    assert match, f"no /{path}/ link in {mail.subject!r}"
    return unescape(match.group(1))


@pytest.fixture(scope="module")
async def shop(stack: RealStack) -> AsyncIterator[Shop]:
    prefix = f"{stack.topic_prefix}stats{secrets.token_hex(2)}."
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
    shared: dict[str, Any] = {"link_signing_keys": KEYS, "tracker_public_url": tracker_url}
    async with (
        serving(create_tracker(stack.settings(TrackerSettings, topic_prefix=prefix, **shared)), port=tracker_port),
        serving(create_ingest(stack.settings(IngestSettings, topic_prefix=prefix, **shared))) as ingest_url,
        httpx.AsyncClient(base_url=ingest_url, headers={"X-Api-Key": key}, timeout=30) as ingest,
        running_sender(
            stack, key, topic_prefix=prefix, tracker_public_url=tracker_url, link_signing_keys=KEYS
        ) as sender,
        running_scheduler(
            stack, topic_prefix=prefix, link_signing_keys=KEYS, tracker_public_url=tracker_url
        ) as running,
        httpx.AsyncClient(base_url=running.url, headers={"X-Api-Key": key}, timeout=30) as reports,
    ):
        for template in TEMPLATES.values():
            await sender.runtime.templates.publish(workspace_id, (EXAMPLES / f"{template}.yaml").read_text())
        await publish(reports, FLOW)
        found = Shop(workspace_id, key, ingest, reports, running.app, sender, tracker_url, stack)
        await until(lambda: found.analytics.consuming, timeout=30)
        yield found
