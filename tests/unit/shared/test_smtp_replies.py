"""SMTP replies decide: sent, retry, suppress the address, or fail without suppressing."""

from __future__ import annotations

import pytest

from shared.smtp_replies import Outcome, classify_smtp_reply


@pytest.mark.parametrize(
    ("code", "message", "enhanced", "outcome"),
    [
        (250, "2.0.0 OK queued", None, Outcome.SENT),
        (421, "4.7.0 try again later", None, Outcome.DEFERRED),
        (451, "4.3.0 temporary failure", None, Outcome.DEFERRED),
        (550, "5.1.1 The email account does not exist", None, Outcome.BOUNCED_HARD),
        (550, "user unknown", "5.1.1", Outcome.BOUNCED_HARD),
        (550, "5.1.10 null MX", None, Outcome.BOUNCED_HARD),
        (550, "5.2.1 mailbox disabled", None, Outcome.BOUNCED_HARD),
        (550, "No such user here", None, Outcome.BOUNCED_HARD),
        (552, "5.2.2 mailbox full", None, Outcome.DEFERRED),
        (552, "Requested mail action aborted: exceeded storage", None, Outcome.DEFERRED),
        (554, "5.7.1 message rejected as spam", None, Outcome.FAILED),
        (550, "5.7.26 unauthenticated mail is prohibited", None, Outcome.FAILED),
        (554, "transaction failed", None, Outcome.FAILED),
    ],
)
def test_reply_is_classified(code: int, message: str, enhanced: str | None, outcome: Outcome) -> None:
    assert classify_smtp_reply(code, message, enhanced).outcome is outcome


def test_only_dead_addresses_are_suppressed() -> None:
    assert classify_smtp_reply(550, "5.1.1 unknown").suppress
    assert not classify_smtp_reply(550, "5.7.1 policy").suppress
    assert not classify_smtp_reply(452, "4.2.2 over quota").suppress


def test_verdict_keeps_the_enhanced_code_found_in_the_text() -> None:
    verdict = classify_smtp_reply(550, "Recipient rejected 5.1.1 <a@b>")
    assert verdict.enhanced == "5.1.1"
    assert verdict.reason == "address does not exist: 550 5.1.1 Recipient rejected 5.1.1 <a@b>"


def test_the_reason_names_the_enhanced_code_once() -> None:
    assert classify_smtp_reply(250, "2.0.0 OK: queued").reason == "accepted: 250 2.0.0 OK: queued"
    assert classify_smtp_reply(250, "OK", enhanced="2.0.0").reason == "accepted: 250 2.0.0 OK"
    assert classify_smtp_reply(421, "").reason == "transient: 421"
