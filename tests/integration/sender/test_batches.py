"""A consumed batch is handled as a whole: every message gets its own outcome, each is sent at most once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.sender.usecases.dispatch import CHUNK
from shared.contract.internal import MessageRequested
from shared.contract.topics import MESSAGES_REQUESTED
from shared.kafka.consumer import Incoming
from tests.integration.sender.conftest import WORKSPACE, Sender, running_sender
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


def requested(contact_id: str, template_id: str) -> MessageRequested:
    now = datetime.now(UTC)
    return MessageRequested(
        event_id=f"m-batch-{uuid.uuid4().hex[:10]}",
        workspace_id=WORKSPACE,
        contact_id=contact_id,
        occurred_at=now,
        received_at=now,
        channel="email",
        template_id=template_id,
        flow_id="welcome",
        flow_version=1,
        step_id="s1",
    )


def incoming(requests: list[MessageRequested]) -> list[Incoming]:
    return [Incoming(MESSAGES_REQUESTED, r.contact_id, r, 0, n) for n, r in enumerate(requests)]


async def test_one_batch_with_every_kind_of_outcome(sender: Sender) -> None:
    await sender.publish_example("welcome-hello")
    tag = uuid.uuid4().hex[:8]
    emails = {name: f"{name}.{tag}@example.com" for name in ("ok", "twice", "unsubscribed", "unconsented")}
    ok = await sender.contact(email=emails["ok"], first_name="Kari")
    twice = await sender.contact(email=emails["twice"])
    unsubscribed = await sender.contact(email=emails["unsubscribed"])
    await sender.unsubscribe(emails["unsubscribed"])
    unconsented = await sender.contact(email=emails["unconsented"], consent=False)
    no_email = await sender.contact(first_name="Nils")
    expected = [
        (requested(ok, "welcome-hello"), "sent", "accepted: 250 2.0.0 OK: queued"),
        (requested(twice, "welcome-hello"), "sent", "accepted: 250 2.0.0 OK: queued"),
        (requested(unsubscribed, "welcome-hello"), "suppressed", "email suppressed for marketing"),
        (requested(unconsented, "welcome-hello"), "suppressed", "no consent to marketing (none)"),
        (requested(no_email, "welcome-hello"), "suppressed", "contact has no email"),
        (requested(f"c-unknown-{tag}", "welcome-hello"), "suppressed", "contact unknown or erased"),
        (requested(ok, "no-such-template"), "failed", "no template 'no-such-template'"),
    ]
    batch = [request for request, _, _ in expected]
    batch.insert(2, batch[1])  # a replay inside the same batch

    await sender.runtime.dispatcher.handle(incoming(batch))

    rows = await sender.db.fetch(
        "SELECT message_id, state, last_reply, attempts, reported FROM send_ledger WHERE message_id = ANY($1::text[])",
        [request.event_id for request in batch],
    )
    found = {row["message_id"]: (row["state"], row["last_reply"]) for row in rows}
    assert found == {request.event_id: (state, reply) for request, state, reply in expected}
    assert all(row["reported"] for row in rows)
    assert {row["attempts"] for row in rows if row["state"] == "sent"} == {1}
    assert [mail.subject for mail in sender.mails_to(emails["ok"])] == ["Welcome, Kari"]
    assert len(sender.mails_to(emails["twice"])) == 1
    assert sender.mails_to(emails["unsubscribed"]) == sender.mails_to(emails["unconsented"]) == []


async def test_a_batch_consumed_again_sends_nothing_more(sender: Sender) -> None:
    await sender.publish_example("welcome-hello")
    emails = [f"again.{n}.{uuid.uuid4().hex[:8]}@example.com" for n in range(5)]
    batch = [requested(await sender.contact(email=email), "welcome-hello") for email in emails]

    await sender.runtime.dispatcher.handle(incoming(batch))
    await sender.runtime.dispatcher.handle(incoming(batch))

    assert [len(sender.mails_to(email)) for email in emails] == [1] * 5
    reported = await sender.db.fetchval(
        "SELECT count(*) FROM send_ledger WHERE message_id = ANY($1::text[]) AND state = 'sent' AND reported",
        [r.event_id for r in batch],
    )
    assert reported == 5


async def test_a_batch_larger_than_a_chunk_is_sent_whole_and_reported(
    stack: RealStack, api_key: tuple[str, str]
) -> None:
    # A sender of its own: the shared one treats a message as abandoned after a second, and more than a
    # hundred messages through the in-process inbox can take longer than that.
    prefix = f"{stack.topic_prefix}chunks-{uuid.uuid4().hex[:6]}."
    async with running_sender(stack, api_key[1], topic_prefix=prefix, stale_send_seconds=120.0) as sender:
        await sender.publish_example("welcome-hello")
        tag = uuid.uuid4().hex[:8]
        emails = [f"chunk.{n}.{tag}@example.com" for n in range(2 * CHUNK + 5)]
        batch = [requested(await sender.contact(email=email), "welcome-hello") for email in emails]

        await sender.runtime.dispatcher.handle(incoming(batch))

        assert sorted(len(sender.mails_to(email)) for email in emails) == [1] * len(emails)
        states = await sender.db.fetch(
            "SELECT state, reported, count(*) AS n FROM send_ledger WHERE message_id = ANY($1::text[]) "
            "GROUP BY state, reported",
            [r.event_id for r in batch],
        )
    assert [(row["state"], row["reported"], row["n"]) for row in states] == [("sent", True, len(emails))]
