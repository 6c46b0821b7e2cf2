"""A shop on the real stack with a published flow, a few people in it, and console users of each role."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from services.scheduler.analytics.workers.runtime import Analytics
from shared.console_users import Role, save_user
from tests.integration.scheduler.conftest import publish, until
from tests.integration.sender.conftest import EXAMPLES, eventually
from tests.support.stack import RealStack
from tests.support.system import System, running_system

FLOW_ID = "console-welcome"
FLOW = f"""
id: {FLOW_ID}
name: Console welcome
category: marketing
triggers: [{{type: event, event: signup}}]
goals: [{{id: bought, event: purchase}}]
steps:
  - {{id: hello, type: send, template: welcome-hello}}
  - id: opened
    type: wait_for
    event: message_opened
    of_step: hello
    timeout: 2d
    on_event: thanks
    on_timeout: nudge
  - {{id: nudge, type: send, template: welcome-checkin, next: done}}
  - {{id: thanks, type: wait, duration: 1d}}
  - {{id: done, type: exit}}
"""
PEOPLE = 5
# A newsletter the broadcast tests send to everyone subscribed to marketing.
NEWS = """
id: console-news
category: marketing
subject: "News from the console"
html: |
  <html><body><p>Hi {{ contact.first_name | default: "there" }}, the news.</p></body></html>
text: |
  Hi {{ contact.first_name | default: "there" }}, the news.
"""


@dataclass
class ConsoleShop:
    system: System
    emails: list[str]
    passwords: dict[Role, tuple[str, str]] = field(default_factory=dict)  # role -> (email, password)

    @property
    def url(self) -> str:
        return str(self.system.scheduler.base_url).rstrip("/")

    @property
    def workspace_id(self) -> str:
        return self.system.workspace_id

    @property
    def analytics(self) -> Analytics:
        analytics: Analytics = self.system.scheduler_app.state.resources.extras["analytics"]
        return analytics

    async def report(self) -> dict[str, Any]:
        response = await self.system.scheduler.get(f"/v1/reports/flows/{FLOW_ID}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


class Visitor:
    """A browser's view of the console over plain HTTP: its cookies kept by hand, since the session
    cookie is `Secure` outside the local stack and an HTTP client would not send it back to http://."""

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=30, follow_redirects=False)
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            self.set_cookies.append(header)
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in header.lower() or value in ('""', ""):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    async def get(self, path: str, **params: str) -> httpx.Response:
        return self._keep(await self.client.get(path, params=params, headers=self._headers()))

    async def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self._keep(await self.client.post(path, data=data, headers=self._headers()))

    async def csrf(self, path: str = "/console/flows") -> str:
        page = await self.get(path)
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match, page.text[:500]
        return match.group(1)

    async def sign_in(self, email: str, password: str) -> httpx.Response:
        return await self.post(
            "/console/login", {"email": email, "password": password, "csrf": await self.csrf("/console/login")}
        )

    async def close(self) -> None:
        await self.client.aclose()


async def add_user(stack: RealStack, workspace_id: str, role: Role) -> tuple[str, str]:
    email, password = f"{role}.{secrets.token_hex(3)}@team.example", secrets.token_urlsafe(16)
    connection = await asyncpg.connect(stack.database_url)
    try:
        await save_user(connection, email, password, workspace_id, role)
    finally:
        await connection.close()
    return email, password


@pytest.fixture(scope="module")
async def console_shop(stack: RealStack) -> AsyncIterator[ConsoleShop]:
    async with running_system(stack, "console") as system:
        for template in ("welcome-hello", "welcome-checkin"):
            await system.sender.runtime.templates.publish(
                system.workspace_id, (EXAMPLES / f"{template}.yaml").read_text()
            )
        await publish(system.scheduler, FLOW)
        shop = ConsoleShop(system, [f"ada.{n}.{uuid.uuid4().hex[:6]}@example.com" for n in range(PEOPLE)])
        await until(lambda: shop.analytics.consuming, timeout=30)
        events = [
            {"type": "signup", "contact": {"email": email, "first_name": f"Ada{n}", "last_name": "Lovelace"},
             "consent": {"marketing": True}}
            for n, email in enumerate(shop.emails)
        ]  # fmt: skip
        response = await system.ingest.post("/v1/events/batch", json={"events": events})
        assert response.status_code == 202, response.text

        async def delivered() -> bool:
            report = await system.scheduler.get(f"/v1/reports/flows/{FLOW_ID}")
            if report.status_code != 200:
                return False
            hello = next(s for s in report.json()["steps"] if s["step_id"] == "hello")
            return bool(hello["counts"]["delivered"] == PEOPLE)

        await eventually(delivered, timeout=40, what="every welcome email delivered and counted")
        for role in ("viewer", "editor", "admin"):
            shop.passwords[role] = await add_user(stack, system.workspace_id, role)
        yield shop


@pytest.fixture
async def visitor(console_shop: ConsoleShop) -> AsyncIterator[Visitor]:
    found = Visitor(console_shop.url)
    yield found
    await found.close()
