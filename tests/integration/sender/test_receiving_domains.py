"""Receiving domains are paced apart: with two local SMTP sinks, one answering 421 to everything, mail to
the deferring domain slows down and waits (held, with its reason) while the other domain's mail goes
straight through; a new sending domain's warm-up holds what is over the day's volume until tomorrow."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial

import asyncpg
import pytest

from dripline.devstack.broker import free_port
from dripline.devstack.inbox import Inbox, start_smtp
from services.sender.adapters.domain_pacing import HELD, RATE, DomainPacing
from services.sender.domain.receiving_domains import parse_groups
from services.sender.domain.retry_schedule import RetrySchedule, parse_delays
from services.sender.domain.warmup import parse_schedule
from services.sender.usecases.channels.email import Warmup
from services.sender.workers.runtime import smtp_relay
from shared.contract.internal import MessageRequested
from shared.contract.topics import MESSAGES_REQUESTED
from shared.sending_domains import new_identity
from shared.sending_identities import KeyBox, SendingIdentityStore
from shared.workspaces import ensure_workspace
from tests.integration.sender.conftest import EXAMPLES, Sender, eventually
from tests.support.mail_requests import subscribed_reader, welcome_request

pytestmark = pytest.mark.stack

DEFER = "421 4.7.0 Try again later, closing connection"


@pytest.fixture
async def deferring_sink() -> AsyncIterator[tuple[Inbox, int]]:
    """A second SMTP server that answers 421 to every message until its replies are cleared."""
    inbox, port = Inbox(), free_port()
    inbox.replies.extend([DEFER] * 1000)
    server = await start_smtp(inbox, "127.0.0.1", port)
    try:
        yield inbox, port
    finally:
        server.close()
        await server.wait_closed()


async def _ledger(sender: Sender, requests: list[MessageRequested]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await sender.db.fetch(
        "SELECT message_id, state, attempts, last_reply, next_attempt_at FROM send_ledger "
        "WHERE message_id = ANY($1::text[]) ORDER BY message_id",
        [r.event_id for r in requests],
    )
    return rows


@pytest.fixture
async def paced_sender(
    sender: Sender, deferring_sink: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Sender]:
    """The session's sender with a `slow` group going through the 421 sink, and retries for longer.

    The session's sender, not one of the test's own: every sender on the stack shares the send ledger,
    so another one's retry loop would take the deferred mail and deliver it by its own settings."""
    settings, email = sender.runtime.settings, sender.runtime.dispatcher.email
    groups = parse_groups(f"slow: slow.example 1/2 via 127.0.0.1:{deferring_sink[1]}; other: * -/-")
    pacing = DomainPacing(groups, sender.runtime.dispatcher.channels.relay, partial(smtp_relay, settings))
    monkeypatch.setattr(email, "pacing", pacing)
    monkeypatch.setattr(email, "schedule", RetrySchedule(parse_delays(" ".join(["1s"] * 40))))
    try:
        yield sender
    finally:
        await pacing.close()


async def test_a_domain_answering_421_is_slowed_without_holding_up_the_other_domain(
    paced_sender: Sender, deferring_sink: tuple[Inbox, int]
) -> None:
    slow_inbox, sender = deferring_sink[0], paced_sender
    await sender.publish_example("welcome-hello")
    tag = secrets.token_hex(3)
    slow = [await sender.contact(email=f"s{n}.{tag}@slow.example") for n in range(4)]
    fast = [await sender.contact(email=f"f{n}.{tag}@fast.example") for n in range(4)]
    slow_requests = [await sender.request(contact, "welcome-hello") for contact in slow]
    fast_requests = [await sender.request(contact, "welcome-hello") for contact in fast]

    for request in fast_requests:
        await sender.settled(request.event_id, "sent")
    for request in slow_requests:
        row = await sender.settled(request.event_id, "deferred")
        assert row["last_reply"].startswith(("transient: 421", "held: slow"))
    pacing = sender.runtime.dispatcher.email.pacing
    assert pacing.pace("slow").slowed and pacing.pace("slow").deferrals >= 1
    assert not pacing.pace("other").slowed and pacing.pace("other").deferrals == 0
    assert RATE.labels("slow")._value.get() == (pacing.pace("slow").rate or 0) < 2

    # While the slow domain keeps deferring, new mail to the other domain is not held up behind it.
    started = datetime.now(UTC)
    later = [await sender.contact(email=f"g{n}.{tag}@fast.example") for n in range(4)]
    more = [await sender.request(contact, "welcome-hello") for contact in later]
    for request in more:
        await sender.settled(request.event_id, "sent", timeout=5.0)
    assert datetime.now(UTC) - started < timedelta(seconds=5)
    delivered = [mail.rcpt_tos[0] for mail in sender.inbox.mails if tag in mail.rcpt_tos[0]]
    assert sorted(delivered) == sorted(f"{kind}{n}.{tag}@fast.example" for kind in "fg" for n in range(4))
    assert not slow_inbox.mails  # the 421 sink took nothing, and nothing for it went to the other relay

    # A slowed domain's mail waits in the ledger with the reason; one held before its first try has attempts 0.
    async def held() -> list[asyncpg.Record]:
        rows = await _ledger(sender, slow_requests)
        return [row for row in rows if (row["last_reply"] or "").startswith("held: slow is slowed")]

    [first, *_] = await eventually(held, timeout=15.0, what="a slow-domain message held for its pace")
    assert "after its receivers deferred" in first["last_reply"] and first["next_attempt_at"] is not None
    assert HELD.labels("slow")._value.get() >= 1 and HELD.labels("other")._value.get() == 0

    # The receiver recovers: the held mail goes out as its slots come.
    slow_inbox.replies.clear()

    async def arrived() -> list[str]:
        return [mail.rcpt_tos[0] for mail in slow_inbox.mails]

    assert (await eventually(arrived, timeout=20.0, what="the slow domain's mail once it accepts"))[0].endswith(
        "@slow.example"
    )


async def test_a_new_sending_domain_sends_its_days_volume_and_holds_the_rest_until_tomorrow(
    sender: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = sender.runtime.dispatcher.email
    assert email.warmup is not None
    monkeypatch.setattr(email, "warmup", Warmup(parse_schedule("3 10"), email.warmup.volume))
    workspace = f"warm-{secrets.token_hex(3)}"
    domain = f"{workspace}.example"
    today = datetime.now(UTC).date()
    await ensure_workspace(sender.db, workspace, workspace)
    store = SendingIdentityStore(sender.db, KeyBox(sender.runtime.settings.identity_encryption_key))
    await store.save(new_identity(workspace, domain, today=today, from_name="Warm shop"))
    await sender.runtime.templates.publish(workspace, (EXAMPLES / "welcome-hello.yaml").read_text())
    tag = secrets.token_hex(3)
    contacts = [await subscribed_reader(sender.db, workspace, f"w{n}.{tag}@example.com") for n in range(5)]
    requests = [welcome_request(workspace, contact) for contact in contacts]
    for request in requests:  # one at a time, each in its own batch as flows request them
        await sender.producer.publish(MESSAGES_REQUESTED, [request])
    for request in requests:
        await sender.settled(request.event_id, "sent", "deferred")

    rows = await _ledger(sender, requests)
    sent = [row for row in rows if row["state"] == "sent"]
    waiting = [row for row in rows if row["state"] == "deferred"]
    assert len(sent) == 3 and len(waiting) == 2
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    for row in waiting:
        assert row["last_reply"] == (
            f"held: {domain} is warming up and has sent its 3 emails for {today}; waits for {tomorrow.date()}"
        )
        assert row["next_attempt_at"] == tomorrow and row["attempts"] == 0
    mails = [mail for mail in sender.inbox.mails if tag in mail.rcpt_tos[0]]
    assert len(mails) == 3 and all(mail.mail_from == f"hello@{domain}" for mail in mails)
    volume = "SELECT sent FROM sending_volume WHERE sending_domain = $1 AND day = $2"
    assert await sender.db.fetchval(volume, domain, today) == 3
