"""What a sign-up's consent grants: a ledger entry and a subscription per scope, each channel its own."""

from __future__ import annotations

from datetime import UTC, datetime

from services.ingest.domain.consent import DoubleOptIn, ledger_row, signup_consent
from shared.contract.shop import ConsentGiven

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_a_plain_marketing_consent_is_an_email_grant_and_no_other_channel() -> None:
    outcome = signup_consent(
        ConsentGiven(marketing=True, topics=["news"]), source="form", occurred_at=NOW, rule=DoubleOptIn()
    )
    assert outcome.subscriptions == dict.fromkeys(["*", "channel:email", "news"], "pending")
    assert outcome.ask_for_confirmation


def test_each_channel_named_is_a_grant_of_its_own_with_the_text_shown() -> None:
    consent = ConsentGiven(
        marketing=True, channels=["sms", "email"], text_shown="Ja, send meg tilbud på SMS og e-post", ip="203.0.113.9"
    )
    outcome = signup_consent(consent, source="form", occurred_at=NOW, rule=DoubleOptIn(enabled=False))
    assert [e.scope for e in outcome.entries] == ["*", "channel:email", "channel:sms"]
    assert {e.text_shown for e in outcome.entries} == {"Ja, send meg tilbud på SMS og e-post"}
    assert outcome.subscriptions == dict.fromkeys(["*", "channel:email", "channel:sms"], "subscribed")
    row = ledger_row("shop", "c-1", "su-1", outcome.entries[2])
    assert row[3] == "channel:sms" and row[9] == "su-1:grant:channel:sms" and row[-1] == consent.text_shown


def test_no_marketing_and_no_channel_grants_nothing() -> None:
    outcome = signup_consent(ConsentGiven(topics=["news"]), source="form", occurred_at=NOW, rule=DoubleOptIn())
    assert outcome.entries == [] and not outcome.ask_for_confirmation


def test_the_signup_record_carries_the_channels_but_not_the_evidence() -> None:
    given = ConsentGiven(marketing=True, channels=["post"], ip="203.0.113.9", text_shown="Send me the catalogue")
    on_record = given.on_record("su-2")
    assert on_record.channels == ["post"] and on_record.evidence_id == "su-2"
    assert "text_shown" not in on_record.model_dump()
