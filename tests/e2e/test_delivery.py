"""A shop identifies a contact, a template is published, a flow asks for a message: the reader gets it,
and its tracked link takes them, through the tracker, to the shop."""

from __future__ import annotations

import dataclasses
import re
import uuid
from html import unescape

import httpx
import pytest
from pydantic import SecretStr

from services.tracker.app import create_app as create_tracker
from shared.contract.topics import MESSAGES_STATUS
from shared.settings import TrackerSettings
from tests.integration.sender.conftest import EXAMPLES, Sender, running_sender
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def test_an_identified_contact_gets_the_requested_email_and_its_link_reaches_the_shop(
    shop: httpx.AsyncClient, stack: RealStack, api_key: tuple[str, str]
) -> None:
    async with running_sender(stack, api_key[1], topic_prefix=f"{stack.topic_prefix}e2e.") as sender:
        await deliver_and_click(shop, sender, stack)


async def deliver_and_click(shop: httpx.AsyncClient, sender: Sender, stack: RealStack) -> None:
    email = f"e2e.{uuid.uuid4().hex[:8]}@example.com"
    identified = await shop.post("/v1/contacts", json={"email": email, "first_name": "Ingrid", "locale": "en"})
    assert identified.status_code == 202, identified.text
    contact_id = identified.json()["contact_id"]
    consented = await shop.put(f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {"*": True}})
    assert consented.status_code == 200, consented.text
    async with sender.client() as api:
        published = await api.post("/v1/templates", json={"source": (EXAMPLES / "welcome-hello.yaml").read_text()})
        assert published.status_code in (200, 201)

    request = await sender.request(contact_id, "welcome-hello")
    await sender.settled(request.event_id, "sent")
    own_topics = dataclasses.replace(stack, topic_prefix=sender.runtime.settings.topic_prefix)
    [status] = await read_topic(
        own_topics, MESSAGES_STATUS, count=1, where=lambda r: r["message_id"] == request.event_id
    )

    [mail] = sender.mails_to(email)
    assert mail.subject == "Welcome, Ingrid" and status["status"] == "sent"
    html = mail.part("html") or ""
    public = sender.runtime.settings.tracker_public_url
    click = unescape(re.search(rf'href="({re.escape(public)}/c/[^"]+)"', html).group(1))  # type: ignore[union-attr]
    tracker_settings = stack.settings(
        TrackerSettings,
        tracker_public_url=public,
        link_signing_keys=SecretStr(sender.runtime.settings.link_signing_keys.get_secret_value()),
    )
    async with serving(create_tracker(tracker_settings)) as tracker_url, httpx.AsyncClient() as browser:
        response = await browser.get(click.replace(public, tracker_url), follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"] == "https://example.com/start"


async def test_readers_with_international_addresses_sign_up_and_get_their_email(
    shop: httpx.AsyncClient, stack: RealStack, api_key: tuple[str, str]
) -> None:
    """`bjørn@…` needs the dev inbox's SMTPUTF8; `…@blåbær.no` goes as punycode and would not."""
    tag = uuid.uuid4().hex[:8]
    readers = {
        f"bjørn.{tag}@eksempel.no": ("Bjørn", f"bjørn.{tag}@eksempel.no"),
        f"kari.{tag}@blåbær.no": ("Kari", f"kari.{tag}@xn--blbr-roah.no"),
    }
    async with running_sender(stack, api_key[1], topic_prefix=f"{stack.topic_prefix}e2e-idn.") as sender:
        async with sender.client() as api:
            published = await api.post("/v1/templates", json={"source": (EXAMPLES / "welcome-hello.yaml").read_text()})
            assert published.status_code in (200, 201)
        for email, (first_name, rcpt) in readers.items():
            signed_up = await shop.post("/v1/contacts", json={"email": email, "first_name": first_name})
            assert signed_up.status_code == 202, signed_up.text
            contact_id = signed_up.json()["contact_id"]
            consented = await shop.put(f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {"*": True}})
            assert consented.status_code == 200, consented.text

            request = await sender.request(contact_id, "welcome-hello")
            await sender.settled(request.event_id, "sent")

            [mail] = sender.mails_to(rcpt)
            assert mail.rcpt_tos == [rcpt]
            assert mail.message["To"] == rcpt
            assert mail.subject == f"Welcome, {first_name}"
            assert f"Hi {first_name}," in (mail.part("plain") or "")
