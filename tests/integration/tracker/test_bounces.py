"""Bounce intake: a permanent bounce stops all mail to the address and marks the message bounced."""

from __future__ import annotations

import httpx
import pytest

from shared.contract.topics import MESSAGES_STATUS
from tests.integration.tracker.conftest import Person, consent_of, suppressions_of
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


def auth(api_key: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key[1]}"}


async def test_hard_bounce_webhook_suppresses_the_address_and_reports_the_message_bounced(
    tracker: httpx.AsyncClient, stack: RealStack, api_key: tuple[str, str], person: Person
) -> None:
    event = {"type": "bounce", "email": person.email.upper(), "bounce_type": "hard", "message_id": person.message_id}
    response = await tracker.post("/v1/bounces", json={"events": [event]}, headers=auth(api_key))

    assert response.status_code == 200, response.text
    assert response.json() == {"suppressed": 1, "temporary": 0, "statuses": 1, "complaints": 0}
    [row] = await suppressions_of(stack, person)
    assert (row["scope"], row["reason"], row["source"]) == ("all", "bounced", "bounce-webhook")
    [status] = await read_topic(stack, MESSAGES_STATUS, count=1, where=lambda r: r["message_id"] == person.message_id)
    assert status["status"] == "bounced" and status["contact_id"] == person.contact_id


async def test_soft_bounces_suppress_nothing(
    tracker: httpx.AsyncClient, stack: RealStack, api_key: tuple[str, str], person: Person
) -> None:
    event = {"type": "bounce", "email": person.email, "status": "4.2.2", "diagnostic": "452 mailbox full"}
    response = await tracker.post("/v1/bounces", json=event, headers=auth(api_key))

    assert response.json() == {"suppressed": 0, "temporary": 1, "statuses": 0, "complaints": 0}
    assert await suppressions_of(stack, person) == []


async def test_a_complaint_event_stops_marketing_for_good_and_is_in_the_consent_ledger(
    tracker: httpx.AsyncClient, stack: RealStack, api_key: tuple[str, str], person: Person
) -> None:
    event = {"type": "complaint", "email": person.email.upper(), "message_id": person.message_id}
    response = await tracker.post("/v1/bounces", json={"events": [event]}, headers=auth(api_key))
    again = await tracker.post("/v1/bounces", json=event, headers=auth(api_key))  # a provider retrying

    assert response.json() == {"suppressed": 0, "temporary": 0, "statuses": 0, "complaints": 1}
    assert again.status_code == 200
    [row] = await suppressions_of(stack, person)
    assert (row["scope"], row["reason"], row["source"]) == ("marketing", "complained", "complaint")
    ledger, status = await consent_of(stack, person)
    assert [(entry["action"], entry["source"]) for entry in ledger] == [("withdraw", "complaint")]
    assert status == "unsubscribed"
    missing = await tracker.post("/v1/bounces", json={"type": "complaint"}, headers=auth(api_key))
    assert missing.status_code == 422 and "email" in missing.text


async def test_bounce_intake_needs_a_workspace_key_and_a_readable_body(
    tracker: httpx.AsyncClient, api_key: tuple[str, str]
) -> None:
    assert (await tracker.post("/v1/bounces", json={"email": "a@example.com"})).status_code == 401
    missing = await tracker.post("/v1/bounces", json={"type": "bounce"}, headers=auth(api_key))
    assert missing.status_code == 422 and "email" in missing.text


async def test_a_bounce_mail_suppresses_the_failed_recipient_and_finds_our_message_id(
    tracker: httpx.AsyncClient, stack: RealStack, api_key: tuple[str, str], person: Person
) -> None:
    dsn = DSN.replace("RECIPIENT", person.email).replace("MESSAGE", person.message_id).encode()
    response = await tracker.post(
        "/v1/bounces/dsn", content=dsn, headers={**auth(api_key), "Content-Type": "message/rfc822"}
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"suppressed": 1, "temporary": 0, "statuses": 1}
    [row] = await suppressions_of(stack, person)
    assert (row["scope"], row["reason"], row["source"]) == ("all", "bounced", "dsn")


DSN = """\
From: MAILER-DAEMON@mx.example.com
To: bounces@shop.example
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; RECIPIENT
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--B
Content-Type: text/rfc822-headers

From: Shop <hello@shop.example>
To: RECIPIENT
Message-ID: <MESSAGE@shop.example>
Subject: Welcome

--B--
"""
