"""Bounce mail and provider webhooks become addresses plus permanent or not."""

from __future__ import annotations

import pytest

from shared.bounces import parse_bounce_webhook, parse_dsn

DSN = b"""\
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

Final-Recipient: rfc822; gone@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--B--
"""


def test_dsn_yields_the_permanently_failed_address() -> None:
    bounces = parse_dsn(DSN)
    assert len(bounces) == 1
    assert bounces[0].addresses == ("gone@example.com",)
    assert bounces[0].permanent


def test_delayed_dsn_is_not_permanent() -> None:
    delayed = DSN.replace(b"Action: failed", b"Action: delayed").replace(b"Status: 5.1.1", b"Status: 4.4.1")
    bounces = parse_dsn(delayed)
    assert all(not b.permanent for b in bounces)


def test_ordinary_mail_has_no_bounces() -> None:
    assert parse_dsn(b"From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n") == []


def test_webhook_hard_and_soft_bounces_are_told_apart() -> None:
    payload = {
        "events": [
            {"type": "bounce", "email": "Gone@Example.com", "bounce_type": "hard", "message_id": "msg-1"},
            {"type": "bounce", "recipient": "full@example.com", "status": "5.2.2", "diagnostic": "mailbox full"},
            {"type": "delivered", "email": "ok@example.com"},
        ]
    }
    hard, soft = parse_bounce_webhook(payload)
    assert hard.addresses == ("gone@example.com",) and hard.permanent and hard.message_id == "msg-1"
    assert soft.addresses == ("full@example.com",) and not soft.permanent


def test_webhook_status_code_alone_decides_permanence() -> None:
    (bounce,) = parse_bounce_webhook({"email": "x@example.com", "status": "5.1.1"})
    assert bounce.permanent


def test_webhook_without_address_is_refused_with_reason() -> None:
    with pytest.raises(ValueError, match="email"):
        parse_bounce_webhook({"type": "bounce", "bounce_type": "hard"})


@pytest.mark.parametrize("raw", [b"", b"Content-Type: multipart/report\n\n"])
def test_mail_that_breaks_the_detectors_is_bad_input_not_a_crash(raw: bytes) -> None:
    with pytest.raises(ValueError, match="not a delivery report"):
        parse_dsn(raw)
