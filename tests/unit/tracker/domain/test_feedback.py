"""Complaint reports and mailto unsubscribes are told from other mail, and name the message by its token."""

from __future__ import annotations

import pytest

from services.tracker.domain.feedback import Feedback, ReportedComplaint, complaint_events, read_feedback
from tests.support.feedback_mail import arf_report, mailto_unsubscribe

TOKEN = "k1.c29tZSBwYXlsb2Fk.bWFjbWFjbWFj"
ORIGINAL = (
    "From: Shop <hello@shop.example>\r\nTo: kari@mailbox.example\r\nSubject: Spring sale\r\n"
    "Message-ID: <0f9c2f6e1c2b4c8e@shop.example>\r\n"
    f"List-Unsubscribe: <https://t.shop.example/u/{TOKEN}>, "
    f"<mailto:unsubscribe@shop.example?subject=unsubscribe-{TOKEN}>\r\n\r\nHello\r\n"
).encode()


def test_an_abuse_report_names_the_message_by_its_unsubscribe_token_and_message_id() -> None:
    assert read_feedback(arf_report(ORIGINAL)) == Feedback("complaint", TOKEN, "0f9c2f6e1c2b4c8e")


def test_a_report_quoting_only_the_headers_is_read_too() -> None:
    assert read_feedback(arf_report(ORIGINAL, headers_only=True)) == Feedback("complaint", TOKEN, "0f9c2f6e1c2b4c8e")


def test_reports_that_ask_for_nothing_are_not_complaints() -> None:
    assert read_feedback(arf_report(ORIGINAL, feedback_type="not-spam")) is None
    assert read_feedback(ORIGINAL) is None  # our own message is neither


def test_the_mail_a_mailto_unsubscribe_writes_carries_the_token_in_its_subject() -> None:
    to, mail = mailto_unsubscribe(ORIGINAL.decode().split("List-Unsubscribe: ")[1].split("\r\n")[0])
    assert to == "unsubscribe@shop.example"
    assert read_feedback(mail) == Feedback("unsubscribe", TOKEN, None)


def test_a_report_without_our_headers_has_no_token() -> None:
    bare = b"From: a@b.example\r\nTo: c@d.example\r\nSubject: hi\r\n\r\nbody\r\n"
    assert read_feedback(arf_report(bare)) == Feedback("complaint", None, None)


def test_a_webhook_body_gives_its_complaint_events_and_leaves_bounces_alone() -> None:
    body = {
        "events": [
            {"type": "bounce", "email": "a@example.com", "bounce_type": "hard"},
            {"type": "Complaint", "email": " Kari@Example.com ", "message_id": "m-1"},
            {"type": "complaint", "recipient": "ola@example.com"},
        ]
    }
    assert complaint_events(body) == [
        ReportedComplaint("kari@example.com", "m-1"),
        ReportedComplaint("ola@example.com", None),
    ]
    with pytest.raises(ValueError, match="email"):
        complaint_events({"type": "complaint"})
