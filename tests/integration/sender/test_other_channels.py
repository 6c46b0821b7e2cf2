"""Text messages through the provider adapter, and signed webhooks that never reach private networks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from services.sender.adapters.webhooks import SIGNATURE_HEADER, WebhookSender, verify_signature
from shared.smtp_replies import Outcome
from tests.integration.sender.conftest import Sender
from tests.support.servers import serving

pytestmark = pytest.mark.stack


@dataclass
class Hook:
    url: str
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    failures_left: int = 0


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    """A webhook receiver on loopback that records each call and can fail the first ones."""
    app = FastAPI()
    received = Hook(url="")

    @app.post("/hook")
    async def receive(request: Request) -> Response:
        received.calls.append((dict(request.headers), await request.body()))
        if received.failures_left:
            received.failures_left -= 1
            return Response(status_code=503)
        return Response(status_code=204)

    async with serving(app) as url:
        received.url = f"{url}/hook"
        yield received


async def test_a_text_message_reaches_the_sms_provider(sender: Sender) -> None:
    await sender.publish_example("welcome-hello")
    phone = f"+4791{uuid.uuid4().int % 1_000_000:06d}"
    contact = await sender.contact(phone=phone, first_name="Ola")
    await sender.subscribe(contact, "channel:sms")  # a marketing text needs consent to SMS

    request = await sender.request(contact, "welcome-hello", channel="sms")
    await sender.settled(request.event_id, "sent")

    [text] = [text for text in sender.inbox.texts if text.to == phone]
    assert text.body.startswith("Hi Ola,")
    assert "<" not in text.body  # the text part, not HTML
    assert text.sender == "Dripline"


async def test_a_marketing_text_to_a_contact_who_agreed_to_email_only_is_not_sent(sender: Sender) -> None:
    await sender.publish_example("welcome-hello")
    phone = f"+4792{uuid.uuid4().int % 1_000_000:06d}"
    contact = await sender.contact(phone=phone, first_name="Kari")  # `*` alone: a plain consent, email only

    request = await sender.request(contact, "welcome-hello", channel="sms")
    skipped = await sender.settled(request.event_id, "suppressed", "skipped")

    assert skipped["last_reply"] == "no consent to SMS marketing"
    assert [text for text in sender.inbox.texts if text.to == phone] == []


async def test_a_webhook_is_signed_and_retried_with_backoff(sender: Sender, hook: Hook) -> None:
    hook.failures_left = 1
    contact = await sender.contact(email="hooked@example.com")

    request = await sender.request(
        contact, "order-export", channel="webhook", variables={"url": hook.url, "order": {"id": "1001"}}
    )
    await sender.settled(request.event_id, "sent")

    assert len(hook.calls) == 2  # one 503, then accepted
    headers, body = hook.calls[-1]
    secret = sender.runtime.settings.webhook_signing_secret.get_secret_value().encode()
    assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body)
    assert not verify_signature(b"another-secret", headers[SIGNATURE_HEADER.lower()], body)
    assert b'"order":{"id":"1001"}' in body and request.event_id.encode() in body


async def test_a_webhook_to_loopback_is_refused_unless_private_targets_are_allowed(hook: Hook) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        guarded = WebhookSender(client, b"secret", attempts=1, allow_private=False)
        refused = await guarded.send(hook.url, {"hello": "world"})
        by_name = await guarded.send(hook.url.replace("127.0.0.1", "localhost"), {"hello": "world"})
        assert hook.calls == []

        allowed = await WebhookSender(client, b"secret", attempts=1, allow_private=True).send(hook.url, {"a": 1})

    assert refused.outcome is Outcome.FAILED and "private address" in refused.detail
    assert by_name.outcome is Outcome.FAILED
    assert allowed.outcome is Outcome.SENT and len(hook.calls) == 1


async def test_the_service_refuses_private_webhooks_by_default(sender: Sender, hook: Hook) -> None:
    sender.runtime.dispatcher.webhook.webhooks = WebhookSender(
        sender.runtime.http, b"secret", attempts=1, allow_private=False
    )
    try:
        contact = await sender.contact()
        request = await sender.request(contact, "x", channel="webhook", variables={"url": hook.url})
        row = await sender.settled(request.event_id, "failed")
    finally:
        sender.runtime.dispatcher.webhook.webhooks = WebhookSender(
            sender.runtime.http, b"secret", attempts=3, allow_private=True
        )
    assert "webhook refused" in row["last_reply"]
    assert hook.calls == []
