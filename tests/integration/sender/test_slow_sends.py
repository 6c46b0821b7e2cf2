"""A sender that is slow, not dead, keeps its messages: the stale-send rule must not send them twice.

The test sender takes back messages left `sending` for 1 s; here the SMTP conversation of one
message takes 2.5 s, so only the renewed lease keeps the retry loop from sending it again.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.sender.adapters.smtp import SmtpReply
from tests.integration.sender.conftest import Sender

pytestmark = pytest.mark.stack


async def test_a_send_slower_than_the_stale_send_time_goes_out_once(
    sender: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sender.publish_example("welcome-hello")
    email = f"slow.{uuid.uuid4().hex[:8]}@example.com"
    contact = await sender.contact(email=email)
    relay = sender.runtime.dispatcher.channels.relay
    original = relay.send

    async def slow(mail_from: str, to: str, data: bytes) -> SmtpReply:
        if to == email:
            await asyncio.sleep(2.5)  # a sluggish server: well past the 1 s stale-send time
        return await original(mail_from, to, data)

    monkeypatch.setattr(relay, "send", slow)
    request = await sender.request(contact, "welcome-hello")
    row = await sender.settled(request.event_id, "sent", timeout=10)
    await asyncio.sleep(1.5)  # a second copy taken back by the retry loop would land by now

    assert len(sender.mails_to(email)) == 1
    assert row["attempts"] == 1


async def test_a_send_whose_lease_could_not_be_renewed_still_goes_out_once(
    sender: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The renewal can fail (the database busy or briefly away); the process sending the message knows it
    still holds it, so its own retry loop leaves it alone however stale its row looks."""
    await sender.publish_example("welcome-hello")
    email = f"unrenewed.{uuid.uuid4().hex[:8]}@example.com"
    contact = await sender.contact(email=email)
    dispatcher = sender.runtime.dispatcher
    relay = dispatcher.channels.relay
    original = relay.send

    async def slow(mail_from: str, to: str, data: bytes) -> SmtpReply:
        if to == email:
            await asyncio.sleep(2.5)
        return await original(mail_from, to, data)

    async def lapsed() -> int:
        return 0  # no row touched: the lease runs out after the 1 s stale-send time

    monkeypatch.setattr(relay, "send", slow)
    monkeypatch.setattr(dispatcher.leases, "renew", lapsed)
    request = await sender.request(contact, "welcome-hello")
    row = await sender.settled(request.event_id, "sent", timeout=10)
    await asyncio.sleep(1.5)

    assert len(sender.mails_to(email)) == 1
    assert row["attempts"] == 1
