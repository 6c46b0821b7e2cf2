"""The promise of how often, in the delivered confirmation email: a sign-up through ingest, the confirmation
through the sender, read from the dev inbox in the reader's language."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.sender.conftest import EXAMPLES, Sender, eventually

pytestmark = pytest.mark.stack

PROMISE = {
    "text": {
        "en": "one newsletter a month, plus order updates",
        "nb": "ett nyhetsbrev i måneden, pluss ordreoppdateringer",
    },
    "messages": 1,
    "days": 30,
}


async def _promising_topic(shop: httpx.AsyncClient) -> str:
    topic = f"letters-{uuid.uuid4().hex[:6]}"
    assert (await shop.put(f"/v1/topics/{topic}", json={"name": "Letters", "promise": PROMISE})).status_code == 200
    return topic


async def _confirmation(shop: httpx.AsyncClient, sender: Sender, topic: str, locale: str) -> str:
    email = f"promise-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "type": "signup",
        "contact": {"email": email, "first_name": "Ingrid", "locale": locale},
        "consent": {"marketing": True, "topics": [topic]},
    }
    assert (await shop.post("/v1/events", json=body)).status_code == 202

    async def arrived() -> list[str] | None:
        return [mail.part("plain") or "" for mail in sender.mails_to(email)] or None

    [text] = await eventually(arrived, timeout=15, what=f"the confirmation to {email}")
    return text


async def test_the_confirmation_email_says_how_often_in_the_readers_language(
    shop: httpx.AsyncClient, sender: Sender
) -> None:
    await sender.publish_example("welcome-confirm")
    topic = await _promising_topic(shop)

    norwegian = await _confirmation(shop, sender, topic, "nb-NO")
    assert "Så ofte hører du fra oss: ett nyhetsbrev i måneden, pluss ordreoppdateringer" in norwegian
    assert "Hei Ingrid," in norwegian and "Bekreft adressen min" in norwegian

    english = await _confirmation(shop, sender, topic, "en-GB")
    assert "How often you'll hear from us: one newsletter a month, plus order updates" in english


async def test_without_a_promise_the_confirmation_says_nothing_of_it(shop: httpx.AsyncClient, sender: Sender) -> None:
    await sender.publish_example("welcome-confirm")
    text = await _confirmation(shop, sender, f"quiet-{uuid.uuid4().hex[:6]}", "en")
    assert "How often" not in text and "Confirm my address" in text


def test_the_example_ships_english_and_norwegian() -> None:
    source = (EXAMPLES / "welcome-confirm.yaml").read_text()
    assert "locale: en" in source and "\n  nb:\n" in source


async def test_a_marketing_email_of_the_topic_says_how_often_in_its_footer(
    shop: httpx.AsyncClient, sender: Sender
) -> None:
    await sender.publish_example("welcome-hello")
    topic = await _promising_topic(shop)
    email = f"footer-{uuid.uuid4().hex[:8]}@example.com"
    contact = await sender.contact(email=email, first_name="Ingrid", locale="nb-NO")
    await sender.subscribe(contact, topic)
    request = await sender.request(contact, "welcome-hello", topic=topic)
    await sender.settled(request.event_id, "sent")
    [mail] = sender.mails_to(email)
    text = mail.part("plain") or ""
    assert "Så ofte: ett nyhetsbrev i måneden, pluss ordreoppdateringer." in text
    assert "Så ofte: ett nyhetsbrev i måneden" in (mail.part("html") or "")
    assert "Hei Ingrid," in text  # the Norwegian variant
