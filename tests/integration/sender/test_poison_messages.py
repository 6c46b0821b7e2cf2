"""A message that crashes its own planning or sending fails with the reason; its batch and the consumer go on."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from services.sender.adapters.ledger import UNREADABLE
from services.sender.usecases.channels.email import Email
from shared.contract.topics import DEAD_LETTERS, MESSAGES_STATUS
from tests.integration.sender.conftest import WORKSPACE, Sender, eventually
from tests.integration.sender.test_batches import incoming, requested
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def poison_contact(sender: Sender, email: str) -> str:
    """A stored, consented contact whose id has a newline: signing its links raises `TokenError`."""
    contact_id = f"c-poison-{uuid.uuid4().hex[:8]}\nx"
    await sender.db.execute(
        "INSERT INTO contacts (workspace_id, contact_id, profile) VALUES ($1, $2, $3::jsonb)",
        WORKSPACE,
        contact_id,
        json.dumps({"email": email, "first_name": "Poison"}),
    )
    await sender.subscribe(contact_id)
    return contact_id


async def test_a_poison_request_fails_with_its_reason_and_the_good_one_beside_it_is_sent(
    sender: Sender, stack: RealStack
) -> None:
    await sender.publish_example("welcome-hello")
    tag = uuid.uuid4().hex[:8]
    good_email, poison_email = f"good.{tag}@example.com", f"poison.{tag}@example.com"
    poison = requested(await poison_contact(sender, poison_email), "welcome-hello")
    good = requested(await sender.contact(email=good_email, first_name="Kari"), "welcome-hello")

    await sender.runtime.dispatcher.handle(incoming([poison, good]))

    [mail] = sender.mails_to(good_email)
    assert "Hi Kari," in (mail.part("plain") or "")
    assert sender.mails_to(poison_email) == []
    row = await sender.settled(poison.event_id, "failed")
    assert row["last_reply"] == "could not be prepared: TokenError: token ids must not contain a newline"
    assert row["reported"]
    [status] = await read_topic(stack, MESSAGES_STATUS, count=1, where=lambda r: r["message_id"] == poison.event_id)
    assert status["status"] == "failed" and status["detail"] == "could not be prepared"  # the ledger keeps the rest
    assert status["contact_id"] == poison.contact_id  # on the contact's timeline


async def test_the_consumer_goes_on_after_a_poison_request(sender: Sender) -> None:
    await sender.publish_example("welcome-hello")
    tag = uuid.uuid4().hex[:8]
    poison = await sender.request(await poison_contact(sender, f"poison.{tag}@example.com"), "welcome-hello")
    email = f"after.{tag}@example.com"
    after = await sender.request(await sender.contact(email=email, first_name="Ola"), "welcome-hello")

    assert "TokenError" in (await sender.settled(poison.event_id, "failed"))["last_reply"]
    await sender.settled(after.event_id, "sent")
    [mail] = sender.mails_to(email)
    assert "Hi Ola," in (mail.part("plain") or "")


async def test_a_send_that_crashes_fails_its_message_and_not_the_batch(
    sender: Sender, stack: RealStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sender.publish_example("welcome-hello")
    tag = uuid.uuid4().hex[:8]
    crashing_email, good_email = f"crash.{tag}@example.com", f"fine.{tag}@example.com"
    email_channel = sender.runtime.dispatcher.email
    send = email_channel.send

    async def crash_for_one(plan: Email) -> Any:
        if plan.address == crashing_email:
            raise RuntimeError("relay bug")
        return await send(plan)

    monkeypatch.setattr(email_channel, "send", crash_for_one)
    crashing = requested(await sender.contact(email=crashing_email), "welcome-hello")
    good = requested(await sender.contact(email=good_email, first_name="Kari"), "welcome-hello")

    await sender.runtime.dispatcher.handle(incoming([crashing, good]))

    row = await sender.settled(crashing.event_id, "failed")
    assert row["last_reply"] == "sending crashed: RuntimeError: relay bug"
    assert sender.mails_to(crashing_email) == []
    assert "Hi Kari," in (sender.mails_to(good_email)[0].part("plain") or "")
    [status] = await read_topic(stack, MESSAGES_STATUS, count=1, where=lambda r: r["message_id"] == crashing.event_id)
    assert status["status"] == "failed"


async def test_a_request_the_database_cannot_hold_is_dead_lettered_and_the_consumer_goes_on(
    sender: Sender, stack: RealStack
) -> None:
    await sender.publish_example("welcome-hello")
    poison = await sender.request("c-nul\x00", "welcome-hello")  # PostgreSQL text cannot hold a NUL
    email = f"after-nul.{uuid.uuid4().hex[:8]}@example.com"
    after = await sender.request(await sender.contact(email=email, first_name="Ola"), "welcome-hello")

    await sender.settled(after.event_id, "sent")
    [letter] = await read_topic(stack, DEAD_LETTERS, count=1, where=lambda r: r.get("event_id") == poison.event_id)
    assert "request cannot be stored" in letter["__headers__"]["reason"]
    assert await sender.state(poison.event_id) is None
    assert "Hi Ola," in (sender.mails_to(email)[0].part("plain") or "")


@pytest.mark.parametrize("state", ["deferred", "failed"])
async def test_a_ledger_row_whose_request_cannot_be_read_fails_and_the_retry_loop_goes_on(
    sender: Sender, state: str
) -> None:
    """A due retry or an unreported outcome with an unreadable stored request: before, the retry loop
    crashed on it every round, so no other deferred message was retried and /readyz stayed 503."""
    await sender.publish_example("welcome-hello")
    tag = uuid.uuid4().hex[:8]
    unreadable = f"m-unreadable-{tag}"
    await sender.db.execute(
        "INSERT INTO send_ledger (message_id, workspace_id, contact_id, channel, category, template_id, state, "
        "request, next_attempt_at, updated_at) VALUES ($1, $2, 'c-unreadable', 'email', 'marketing', "
        "'welcome-hello', $3, '{}', now() - interval '1 minute', now() - interval '1 hour')",
        unreadable,
        WORKSPACE,
        state,
    )
    email = f"later.{tag}@example.com"
    later = await sender.request(await sender.contact(email=email, first_name="Siri"), "welcome-hello")

    async def retired() -> asyncpg.Record | None:
        row: asyncpg.Record | None = await sender.db.fetchrow(
            "SELECT state, last_reply, reported FROM send_ledger WHERE message_id = $1", unreadable
        )
        return row if row is not None and row["last_reply"] == UNREADABLE else None

    row = await eventually(retired, what="the unreadable row to be retired")
    assert row["state"] == "failed" and row["reported"]
    await sender.settled(later.event_id, "sent")
    [mail] = sender.mails_to(email)
    assert "Hi Siri," in (mail.part("plain") or "")
    async with httpx.AsyncClient(base_url=sender.url) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
