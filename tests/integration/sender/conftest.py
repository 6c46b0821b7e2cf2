"""A running sender on the real stack, an in-process SMTP inbox and SMS sink, and helpers to feed it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from aiosmtpd.smtp import SMTP
from fastapi import FastAPI
from pydantic import SecretStr

from dripline.devstack.broker import free_port
from dripline.devstack.inbox import Inbox, ReceivedMail, start_smtp
from dripline.devstack.inbox_web import create_inbox_app
from services.sender.app import create_app
from services.sender.workers.runtime import SenderRuntime
from shared.contract.internal import MessageRequested
from shared.contract.topics import MESSAGES_REQUESTED
from shared.identity import identifier_hash
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import Producer
from shared.settings import CommonSettings, SenderSettings
from tests.support.servers import serving
from tests.support.stack import RealStack

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "templates"
WORKSPACE = "shop-one"
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0, what: str = "it") -> T:
    """Poll until `probe` returns something truthy; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Sender:
    """The running sender and what it talks to."""

    app: FastAPI
    url: str
    inbox: Inbox
    inbox_url: str
    producer: Producer
    db: asyncpg.Pool
    api_key: str

    @property
    def runtime(self) -> SenderRuntime:
        runtime: SenderRuntime = self.app.state.sender
        return runtime

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {self.api_key}"}, timeout=10)

    async def publish_example(self, template_id: str) -> None:
        await self.runtime.templates.publish(WORKSPACE, (EXAMPLES / f"{template_id}.yaml").read_text())

    async def contact(self, *, consent: bool = True, **profile: Any) -> str:
        """A stored contact; with `consent`, one subscribed to marketing (its `*` subscription)."""
        contact_id = f"c-{uuid.uuid4().hex[:10]}"
        await self.db.execute(
            "INSERT INTO contacts (workspace_id, contact_id, profile) VALUES ($1, $2, $3::jsonb)",
            WORKSPACE,
            contact_id,
            json.dumps(profile),
        )
        if consent:
            await self.subscribe(contact_id)
        return contact_id

    async def subscribe(self, contact_id: str, topic: str = "*", status: str = "subscribed") -> None:
        await self.db.execute(
            "INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (workspace_id, contact_id, topic) DO UPDATE SET status = EXCLUDED.status",
            WORKSPACE,
            contact_id,
            topic,
            status,
        )

    async def unsubscribe(self, email: str, scope: str = "marketing") -> None:
        await self.db.execute(
            "INSERT INTO suppressions (workspace_id, address_hash, scope, reason, source) "
            "VALUES ($1, $2, $3, 'unsubscribed', 'test')",
            WORKSPACE,
            identifier_hash(WORKSPACE, "email", email),
            scope,
        )

    async def request(self, contact_id: str, template_id: str, *, times: int = 1, **fields: Any) -> MessageRequested:
        now = datetime.now(UTC)
        request = MessageRequested(
            event_id=fields.pop("event_id", f"m-{uuid.uuid4().hex[:12]}"),
            workspace_id=WORKSPACE,
            contact_id=contact_id,
            occurred_at=now,
            received_at=now,
            channel=fields.pop("channel", "email"),
            template_id=template_id,
            flow_id="welcome",
            flow_version=1,
            step_id="s1",
            **fields,
        )
        await self.producer.publish(MESSAGES_REQUESTED, [request] * times)
        return request

    async def state(self, message_id: str) -> str | None:
        state: str | None = await self.db.fetchval("SELECT state FROM send_ledger WHERE message_id = $1", message_id)
        return state

    async def settled(self, message_id: str, *states: str, timeout: float = 30.0) -> asyncpg.Record:
        async def probe() -> asyncpg.Record | None:
            row: asyncpg.Record | None = await self.db.fetchrow(
                "SELECT state, attempts, last_reply, reported FROM send_ledger WHERE message_id = $1", message_id
            )
            return row if row is not None and row["state"] in states else None

        return await eventually(probe, timeout=timeout, what=f"{message_id} to be {'/'.join(states)}")

    def mails_to(self, address: str) -> list[ReceivedMail]:
        return [mail for mail in self.inbox.mails if address in mail.rcpt_tos]


def sender_settings(stack: RealStack, smtp_port: int, sms_url: str, **overrides: Any) -> SenderSettings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_starttls": False,
        "smtp_timeout_seconds": 5.0,
        "mail_from": "Nordic Shop <hello@shop.example>",
        "tracker_public_url": "https://t.shop.example",
        "link_signing_keys": SecretStr("k1:sender-test-secret-0123456789"),
        "retry_schedule": "1s 1s",
        "retry_poll_seconds": 0.1,
        "stale_send_seconds": 1.0,
        "sms_base_url": sms_url,
        "allow_private_webhooks": True,
        "webhook_attempts": 3,
        "webhook_timeout_seconds": 2.0,
        "shutdown_grace_seconds": 5.0,
    }
    return stack.settings(SenderSettings, **{**values, **overrides})


async def start_ascii_only_smtp(inbox: Inbox, host: str, port: int) -> asyncio.Server:
    """The dev inbox behind a server that does not offer SMTPUTF8, as many relays still do not."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(inbox, hostname="ascii-relay", enable_SMTPUTF8=False), host=host, port=port
    )


@asynccontextmanager
async def running_sender(
    stack: RealStack, api_key: str, *, topic_prefix: str | None = None, smtputf8: bool = True, **overrides: Any
) -> AsyncIterator[Sender]:
    """A sender with its own inbox; a separate topic prefix gives it its own topics and consumer group.

    `smtputf8=False`: its SMTP server does not offer SMTPUTF8 (the dev inbox does)."""
    prefix = topic_prefix or stack.topic_prefix
    if topic_prefix is not None:
        await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    inbox = Inbox()
    smtp_port = free_port()
    smtp = await (start_smtp if smtputf8 else start_ascii_only_smtp)(inbox, "127.0.0.1", smtp_port)
    producer = Producer(stack.settings(SenderSettings, topic_prefix=prefix))
    await producer.start()
    db = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=4)
    assert db is not None
    try:
        async with serving(create_inbox_app(inbox)) as inbox_url:
            settings = sender_settings(stack, smtp_port, f"{inbox_url}/api/sms", topic_prefix=prefix, **overrides)
            app = create_app(settings)
            async with serving(app) as url:
                yield Sender(app, url, inbox, inbox_url, producer, db, api_key)
    finally:
        await db.close()
        await producer.stop()
        smtp.close()
        await smtp.wait_closed()


@pytest.fixture(scope="package")
async def sender(stack: RealStack, api_key: tuple[str, str]) -> AsyncIterator[Sender]:
    """One sender for this package's tests, stopped after them: its retry loop takes back any message on the
    shared ledger left stale for its 1 s, so running on beside later tests' own senders it could send theirs."""
    async with running_sender(stack, api_key[1]) as running:
        yield running
