"""Requested emails reach the inbox once, with compliance headers, retries, bounces and suppressions."""

from __future__ import annotations

import uuid

import pytest

from shared.contract.topics import MESSAGES_STATUS
from shared.identity import identifier_hash
from tests.integration.sender.conftest import Sender
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


def address() -> str:
    return f"reader.{uuid.uuid4().hex[:10]}@example.com"


async def test_a_requested_message_lands_in_the_inbox_with_unsubscribe_headers_and_footer(
    sender: Sender, stack: RealStack
) -> None:
    await sender.publish_example("welcome-hello")
    email = address()
    contact = await sender.contact(email=email, first_name="Kari")

    request = await sender.request(contact, "welcome-hello")
    await sender.settled(request.event_id, "sent")

    [mail] = sender.mails_to(email)
    assert mail.subject == "Welcome, Kari"
    assert mail.message["List-Unsubscribe"].startswith("<https://t.shop.example/u/")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.message["Message-ID"] == f"<{request.event_id}@shop.example>"
    text = mail.part("plain") or ""
    assert "Unsubscribe: https://t.shop.example/u/" in text
    assert "Storgata 1" in text  # the postal address in the footer
    assert "https://t.shop.example/c/" in (mail.part("html") or "")  # clicks are tracked

    [status] = await read_topic(stack, MESSAGES_STATUS, count=1, where=lambda r: r["message_id"] == request.event_id)
    assert status["status"] == "sent" and status["channel"] == "email"
    assert status["event_id"] == f"{request.event_id}.sent.1"
    assert status["flow_id"] == "welcome" and status["step_id"] == "s1"


async def test_replaying_a_request_ten_times_sends_one_email(sender: Sender, stack: RealStack) -> None:
    await sender.publish_example("welcome-hello")
    email = address()
    contact = await sender.contact(email=email)

    request = await sender.request(contact, "welcome-hello", times=10)
    row = await sender.settled(request.event_id, "sent")
    marker = await sender.request(contact, "welcome-hello")  # requested after all ten replays
    await sender.settled(marker.event_id, "sent")

    assert row["attempts"] == 1
    message_ids = [mail.message["Message-ID"] for mail in sender.mails_to(email)]
    assert message_ids.count(f"<{request.event_id}@shop.example>") == 1
    statuses = await read_topic(
        stack, MESSAGES_STATUS, count=1, settle=0.3, where=lambda r: r["message_id"] == request.event_id
    )
    assert {status["event_id"] for status in statuses} == {f"{request.event_id}.sent.1"}


async def test_a_421_is_retried_on_schedule_and_delivered_once(sender: Sender, stack: RealStack) -> None:
    await sender.publish_example("welcome-hello")
    email = address()
    contact = await sender.contact(email=email)
    sender.inbox.replies.append("421 4.3.0 Try later")

    request = await sender.request(contact, "welcome-hello")
    deferred = await sender.settled(request.event_id, "deferred", "sent")
    sent = await sender.settled(request.event_id, "sent", timeout=6)

    assert len(sender.mails_to(email)) == 1
    assert sent["attempts"] == 2
    statuses = await read_topic(stack, MESSAGES_STATUS, count=2, where=lambda r: r["message_id"] == request.event_id)
    assert [(s["status"], s["attempt"]) for s in statuses] == [("deferred", 1), ("sent", 2)]
    assert "421" in (statuses[0]["detail"] or "")
    assert deferred["attempts"] >= 1


async def test_a_hard_bounce_suppresses_the_address_for_later_messages(sender: Sender, stack: RealStack) -> None:
    await sender.publish_example("welcome-hello")
    email = address()
    contact = await sender.contact(email=email)
    sender.inbox.replies.append("550 5.1.1 No such user here")

    bounced = await sender.request(contact, "welcome-hello")
    row = await sender.settled(bounced.event_id, "bounced")
    later = await sender.request(contact, "welcome-hello", category="transactional")
    skipped = await sender.settled(later.event_id, "suppressed")

    assert "5.1.1" in row["last_reply"]
    assert skipped["last_reply"] == "email suppressed for marketing"  # the template is marketing
    assert sender.mails_to(email) == []
    reasons = await sender.db.fetch(
        "SELECT scope, reason FROM suppressions WHERE workspace_id = 'shop-one' AND address_hash = $1",
        identifier_hash("shop-one", "email", email),
    )
    assert [(r["scope"], r["reason"]) for r in reasons] == [("all", "bounced")]
    statuses = await read_topic(
        stack, MESSAGES_STATUS, count=2, where=lambda r: r["message_id"] in (bounced.event_id, later.event_id)
    )
    assert sorted(s["status"] for s in statuses) == ["bounced", "suppressed"]


async def test_an_unsubscribed_contact_gets_transactional_mail_but_no_marketing(sender: Sender) -> None:
    await sender.publish_example("welcome-hello")
    await sender.publish_example("trial-welcome")
    email = address()
    contact = await sender.contact(email=email)
    await sender.unsubscribe(email, scope="marketing")

    marketing = await sender.request(contact, "welcome-hello")
    transactional = await sender.request(contact, "trial-welcome", category="transactional")
    await sender.settled(marketing.event_id, "suppressed")
    await sender.settled(transactional.event_id, "sent")

    [mail] = sender.mails_to(email)
    assert mail.message["X-Dripline-Category"] == "transactional"
    assert mail.message["List-Unsubscribe"] is None


async def test_marketing_needs_consent_to_marketing_and_to_the_message_topic(sender: Sender) -> None:
    await sender.publish_example("welcome-hello")
    await sender.publish_example("trial-welcome")
    never_asked = await sender.contact(email=address(), consent=False)
    pending = await sender.contact(email=address(), consent=False)
    await sender.subscribe(pending, status="pending")
    newsletter_only = await sender.contact(email=address())
    await sender.subscribe(newsletter_only, "newsletter")

    no_consent = await sender.request(never_asked, "welcome-hello")
    unconfirmed = await sender.request(pending, "welcome-hello")
    offers = await sender.request(newsletter_only, "welcome-hello", topic="offers")
    newsletter = await sender.request(newsletter_only, "welcome-hello", topic="newsletter")
    receipt = await sender.request(never_asked, "trial-welcome", category="transactional")

    assert (await sender.settled(no_consent.event_id, "suppressed"))["last_reply"] == "no consent to marketing (none)"
    assert (await sender.settled(unconfirmed.event_id, "suppressed"))["last_reply"] == (
        "no consent to marketing (pending)"
    )
    assert (await sender.settled(offers.event_id, "suppressed"))["last_reply"] == "no consent to topic offers (none)"
    await sender.settled(newsletter.event_id, "sent")
    await sender.settled(receipt.event_id, "sent")


async def test_contacts_without_an_address_or_erased_are_not_mailed(sender: Sender) -> None:
    await sender.publish_example("welcome-hello")
    nameless = await sender.contact(first_name="No address")
    erased = await sender.contact(email=address(), erased=True)

    first = await sender.request(nameless, "welcome-hello")
    second = await sender.request(erased, "welcome-hello")
    unknown = await sender.request("c-never-seen", "welcome-hello")

    assert (await sender.settled(first.event_id, "suppressed"))["last_reply"] == "contact has no email"
    assert (await sender.settled(second.event_id, "suppressed"))["last_reply"] == "contact unknown or erased"
    await sender.settled(unknown.event_id, "suppressed")


async def test_a_missing_template_fails_the_message(sender: Sender) -> None:
    contact = await sender.contact(email=address())
    request = await sender.request(contact, "no-such-template")
    row = await sender.settled(request.event_id, "failed")
    assert "no template" in row["last_reply"]
