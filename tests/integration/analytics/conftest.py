"""A whole shop on topics of its own: ingest, scheduler (with analytics), sender with an SMTP inbox, tracker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.scheduler.analytics.workers.runtime import Analytics
from tests.integration.scheduler.conftest import publish, until
from tests.integration.sender.conftest import EXAMPLES, Sender
from tests.support.stack import RealStack
from tests.support.system import running_system

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


@pytest.fixture(scope="module")
async def shop(stack: RealStack) -> AsyncIterator[Shop]:
    async with running_system(stack, "stats") as system:
        for template in TEMPLATES.values():
            await system.sender.runtime.templates.publish(
                system.workspace_id, (EXAMPLES / f"{template}.yaml").read_text()
            )
        await publish(system.scheduler, FLOW)
        found = Shop(
            system.workspace_id,
            system.key,
            system.ingest,
            system.scheduler,
            system.scheduler_app,
            system.sender,
            system.tracker_url,
            stack,
        )
        await until(lambda: found.analytics.consuming, timeout=30)
        yield found
