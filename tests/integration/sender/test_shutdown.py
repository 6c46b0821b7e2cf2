"""On SIGTERM the sender stops consuming, finishes the send in flight, commits, and says QUIT to SMTP."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiosmtpd.smtp import SMTP, Envelope, Session

from dripline.devstack.broker import free_port
from dripline.devstack.inbox import Inbox, start_smtp
from services.sender.app import create_app
from services.sender.workers.runtime import CONSUMER_GROUP
from shared.contract.internal import MessageRequested
from shared.contract.topics import MESSAGES_REQUESTED
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import Producer
from shared.settings import CommonSettings
from tests.integration.sender.conftest import EXAMPLES, WORKSPACE, eventually, sender_settings
from tests.support.servers import serving
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


class GatedInbox(Inbox):
    """Holds the message to `address` until the test opens the gate; counts greetings and goodbyes.

    Only that message: every sender shares the send ledger, so this one's retry loop may deliver
    another test's deferred mail here too, and that must neither open the gate nor be counted."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address
        self.gate = asyncio.Event()
        self.arrived = asyncio.Event()
        self.greetings = 0
        self.quits = 0

    async def handle_EHLO(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.address in envelope.rcpt_tos:
            self.arrived.set()
            await self.gate.wait()
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.quits += 1
        return "221 Bye"


async def test_shutdown_finishes_the_send_in_flight_and_commits(stack: RealStack, api_key: Any) -> None:
    prefix = f"{stack.topic_prefix}stop{uuid.uuid4().hex[:4]}."
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    address = f"stop.{uuid.uuid4().hex[:8]}@example.com"
    inbox = GatedInbox(address)
    port = free_port()
    smtp = await start_smtp(inbox, "127.0.0.1", port)
    settings = sender_settings(stack, port, "http://127.0.0.1:9/none", topic_prefix=prefix)
    db = await asyncpg.connect(stack.database_url)
    producer = Producer(settings)
    await producer.start()
    contact = f"c-{uuid.uuid4().hex[:8]}"
    await db.execute(
        "INSERT INTO contacts (workspace_id, contact_id, profile) "
        "VALUES ($1, $2, jsonb_build_object('email', $3::text))",
        WORKSPACE,
        contact,
        address,
    )
    await db.execute(
        "INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) "
        "VALUES ($1, $2, '*', 'subscribed')",
        WORKSPACE,
        contact,
    )
    try:
        async with contextlib.AsyncExitStack() as running:
            app = create_app(settings)
            await running.enter_async_context(serving(app))
            await app.state.sender.templates.publish(WORKSPACE, (EXAMPLES / "welcome-hello.yaml").read_text())
            request = MessageRequested.model_validate(
                {
                    "event_id": f"m-stop-{uuid.uuid4().hex[:8]}",
                    "workspace_id": WORKSPACE,
                    "contact_id": contact,
                    "occurred_at": "2026-11-25T10:00:00Z",
                    "received_at": "2026-11-25T10:00:00Z",
                    "channel": "email",
                    "template_id": "welcome-hello",
                }
            )
            await producer.publish(MESSAGES_REQUESTED, [request])
            await asyncio.wait_for(inbox.arrived.wait(), 8)

            stopping = asyncio.create_task(running.aclose())  # what SIGTERM does
            await asyncio.sleep(0.3)
            assert not stopping.done()  # waiting for the send in flight
            inbox.gate.set()
            await asyncio.wait_for(stopping, 10)

        assert await db.fetchval("SELECT state FROM send_ledger WHERE message_id = $1", request.event_id) == "sent"
        assert [mail.rcpt_tos for mail in inbox.mails].count([address]) == 1
        assert inbox.quits == inbox.greetings >= 1  # every connection it opened said goodbye
        assert await committed_offsets(stack, prefix) >= 1
    finally:
        await producer.stop()
        await db.close()
        smtp.close()


async def committed_offsets(stack: RealStack, prefix: str) -> int:
    name = MESSAGES_REQUESTED.full_name(prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=f"{prefix}{CONSUMER_GROUP}")
    await consumer.start()
    try:

        async def total() -> int:
            partitions = consumer.partitions_for_topic(name) or set()
            offsets = [await consumer.committed(TopicPartition(name, p)) for p in partitions]
            return sum(offset or 0 for offset in offsets)

        return await eventually(total, timeout=30, what="committed offsets")
    finally:
        await consumer.stop()
