"""The one way a message goes out twice: the sender dies after the SMTP 250, before the ledger says `sent`.

A crash is simulated by failing the ledger write at that point (the database going away
is the same as the process dying there): the replayed request is dropped at the claim,
and the message, left `sending`, is sent again once it is stale.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.sender.adapters.ledger import SendLedger
from shared.errors import Transient
from tests.integration.sender.conftest import Sender

pytestmark = pytest.mark.stack


def crash_once(monkeypatch: pytest.MonkeyPatch, ledger: SendLedger, method: str, message_id: str) -> None:
    """The ledger write `method` fails the first time its batch holds `message_id`."""
    original = getattr(ledger, method)
    crashed: set[str] = set()

    async def crashing(batch: list[Any], *args: Any, **kwargs: Any) -> Any:
        ids = {getattr(item, "message_id", item) for item in batch}
        if message_id in ids and message_id not in crashed:
            crashed.add(message_id)
            raise Transient(f"simulated crash in {method}")
        return await original(batch, *args, **kwargs)

    monkeypatch.setattr(ledger, method, crashing)


async def test_a_crash_between_the_250_and_the_ledger_update_sends_twice(
    sender: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sender.publish_example("welcome-hello")
    email = f"window.{uuid.uuid4().hex[:8]}@example.com"
    contact = await sender.contact(email=email)
    request_id = f"m-window-{uuid.uuid4().hex[:8]}"
    crash_once(monkeypatch, sender.runtime.dispatcher.ledger, "finish_all", request_id)

    await sender.request(contact, "welcome-hello", event_id=request_id)
    row = await sender.settled(request_id, "sent", timeout=8)

    copies = [mail.message["Message-ID"] for mail in sender.mails_to(email)]
    assert copies == [f"<{request_id}@shop.example>"] * 2  # same Message-ID: receivers can fold them
    assert row["attempts"] == 2


async def test_a_crash_before_the_smtp_conversation_sends_once(sender: Sender, monkeypatch: pytest.MonkeyPatch) -> None:
    await sender.publish_example("welcome-hello")
    email = f"window.{uuid.uuid4().hex[:8]}@example.com"
    contact = await sender.contact(email=email)
    request_id = f"m-early-{uuid.uuid4().hex[:8]}"
    crash_once(monkeypatch, sender.runtime.dispatcher.ledger, "start_attempts", request_id)

    await sender.request(contact, "welcome-hello", event_id=request_id, times=3)
    row = await sender.settled(request_id, "sent", timeout=8)

    assert len(sender.mails_to(email)) == 1
    assert row["attempts"] == 1
