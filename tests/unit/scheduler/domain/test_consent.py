"""Consent in the engine: double opt-in holds entries, topics gate marketing, preference changes end flows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.scheduler.domain import (
    AWAITING_CONFIRMATION,
    EventReceived,
    PastEnrollment,
    TimerFired,
    WorkspacePolicy,
    advance,
    decide_entry,
    judge_send,
    load_flow,
    marketing_consent,
    start,
)
from tests.unit.scheduler.support import contact, event

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
NO_RULES = WorkspacePolicy(grace_after_signup=timedelta(0))


def flow(category: str = "marketing", topic: str | None = "offers") -> str:
    lines = ["id: f", "name: F", f"category: {category}", "triggers: [{type: event, event: signup}]"]
    lines += [f"topic: {topic}"] if topic else []
    lines += ["steps:", "  - {id: wait, type: wait, duration: 1d}", "  - {id: mail, type: send, template: t}"]
    return "\n".join(lines) + "\n"


def test_marketing_needs_a_subscribed_star_and_the_flow_topic() -> None:
    both = contact(subscriptions={"*": "subscribed", "offers": "subscribed"})
    assert marketing_consent(both, "offers") is None
    assert marketing_consent(both, None) is None
    assert marketing_consent(contact(subscriptions={"*": "subscribed"}), "offers") == "no consent to offers"
    assert marketing_consent(contact(subscriptions={}), None) == "no consent to marketing"
    assert marketing_consent(contact(subscriptions={"*": "pending"}), "offers") == AWAITING_CONFIRMATION
    assert marketing_consent(contact(subscriptions={"*": "expired"}), None) == "confirmation for marketing expired"
    left = contact(subscriptions={"*": "subscribed", "offers": "unsubscribed"})
    assert marketing_consent(left, "offers") == "contact unsubscribed from offers"


def test_consent_not_tracked_means_a_simulated_subscriber() -> None:
    assert marketing_consent(contact(), "offers") is None


def test_transactional_mail_ignores_consent_but_not_erasure() -> None:
    nobody = contact(subscriptions={})
    assert judge_send(NO_RULES, nobody, [], "email", "transactional", NOW).outcome == "send"
    assert judge_send(NO_RULES, nobody, [], "email", "marketing", NOW).outcome == "suppress"
    erased = contact(subscriptions={}, status="erased")
    assert judge_send(NO_RULES, erased, [], "email", "transactional", NOW).outcome == "suppress"


def test_an_unconfirmed_signup_holds_a_marketing_entry_but_not_a_transactional_one() -> None:
    pending = contact(subscriptions={"*": "pending", "offers": "pending"})
    signup = event("signup", NOW)
    held = decide_entry(load_flow(flow()), pending, NOW, [], signup)
    assert not held.enter and held.hold and held.reason == AWAITING_CONFIRMATION
    assert decide_entry(load_flow(flow("transactional", None)), pending, NOW, [], signup).enter
    confirmed = contact(subscriptions={"*": "subscribed", "offers": "subscribed"})
    assert decide_entry(load_flow(flow()), confirmed, NOW, [], signup).enter


def test_contacts_without_consent_do_not_enter_marketing_flows_and_are_not_held() -> None:
    decision = decide_entry(
        load_flow(flow()), contact(subscriptions={"*": "subscribed"}), NOW, [], event("signup", NOW)
    )
    assert not decision.enter and not decision.hold and decision.reason == "no consent to offers"
    assert decision.refused  # kept out by consent: the scheduler records it on flows.transitions


def test_an_entry_rule_keeping_a_contact_out_is_not_a_refusal_worth_recording() -> None:
    subscribed = contact(subscriptions={"*": "subscribed", "offers": "subscribed"})
    inside = [PastEnrollment(entered_at=NOW - timedelta(days=1), active=True)]
    already = decide_entry(load_flow(flow()), subscribed, NOW, inside, event("signup", NOW))
    assert not already.enter and not already.refused and already.reason == "already in this flow"


def test_a_preference_change_ends_only_the_flow_whose_topic_was_left() -> None:
    before = contact(subscriptions={"*": "subscribed", "offers": "subscribed", "news": "subscribed"})
    offers, news = load_flow(flow(topic="offers")), load_flow(flow(topic="news"))
    in_offers = start(offers, before, NOW, "e-1", policy=NO_RULES)
    in_news = start(news, before, NOW, "e-2", policy=NO_RULES)
    after = contact(subscriptions={"*": "subscribed", "offers": "unsubscribed", "news": "subscribed"})
    changed = EventReceived(event=event("preferences_changed", NOW + timedelta(hours=1)))
    left = advance(offers, in_offers.state, changed, NOW + timedelta(hours=1), after, NO_RULES)
    kept = advance(news, in_news.state, changed, NOW + timedelta(hours=1), after, NO_RULES)
    assert left.state.status == "exited" and left.state.exit_reason == "contact unsubscribed from offers"
    assert kept.state.active and kept.actions == ()


def test_a_send_without_consent_ends_a_marketing_flow() -> None:
    subscribed = contact(subscriptions={"*": "subscribed", "offers": "subscribed"})
    offers = load_flow(flow())
    begun = start(offers, subscribed, NOW, "e-1", policy=NO_RULES)
    assert begun.state.waiting is not None
    withdrawn = contact(subscriptions={"*": "subscribed", "offers": "unsubscribed"})
    later = NOW + timedelta(days=1)
    fired = advance(offers, begun.state, TimerFired(timer_id=begun.state.waiting.timer_id), later, withdrawn, NO_RULES)
    assert fired.state.status == "exited" and fired.state.exit_reason == "contact unsubscribed from offers"
    assert not [a for a in fired.actions if a.kind == "request_message"]


def sms_flow(category: str = "marketing") -> str:
    lines = ["id: s", "name: S", f"category: {category}", "triggers: [{type: event, event: signup}]", "steps:"]
    lines += ["  - {id: text, type: send, channel: sms, template: t}", "  - {id: mail, type: send, template: t}"]
    lines += ["  - {id: letter, type: notify, channel: post, url: 'https://print.example/letters'}"]
    return "\n".join(lines) + "\n"


def test_each_step_needs_the_grant_of_its_own_channel() -> None:
    email_only = contact(subscriptions={"*": "subscribed", "channel:email": "subscribed"})
    assert marketing_consent(email_only, None, "email") is None
    assert marketing_consent(email_only, None, "sms") == "no consent to SMS marketing"
    assert judge_send(NO_RULES, email_only, [], "sms", "marketing", NOW).reason == "no consent to SMS marketing"
    assert judge_send(NO_RULES, email_only, [], "sms", "transactional", NOW).outcome == "send"
    assert judge_send(NO_RULES, email_only, [], "webhook", "marketing", NOW).outcome == "send"


def test_an_sms_step_without_sms_consent_is_skipped_with_its_reason_and_the_email_goes() -> None:
    email_only = contact(subscriptions={"*": "subscribed"})
    walked = start(load_flow(sms_flow()), email_only, NOW, "e-1", policy=NO_RULES)
    sent = [a.channel for a in walked.actions if a.kind == "request_message"]  # type: ignore[union-attr]
    skipped = [(a.step_id, a.reason) for a in walked.actions if a.kind == "transition" and a.event == "skipped"]  # type: ignore[union-attr]
    assert sent == ["email"]
    assert skipped == [("text", "no consent to SMS marketing"), ("letter", "no consent to post marketing")]
    assert not [a for a in walked.actions if a.kind == "notify"]


def test_a_contact_with_every_channel_gets_the_text_the_email_and_the_letter() -> None:
    scopes = {"*": "subscribed", "channel:sms": "subscribed", "channel:email": "subscribed"}
    everyone = contact(subscriptions=scopes | {"channel:post": "subscribed"})
    walked = start(load_flow(sms_flow()), everyone, NOW, "e-1", policy=NO_RULES)
    assert [a.channel for a in walked.actions if a.kind == "request_message"] == ["sms", "email"]  # type: ignore[union-attr]
    assert len([a for a in walked.actions if a.kind == "notify"]) == 1


def test_a_contact_with_only_sms_consent_enters_and_gets_no_email() -> None:
    sms_only = contact(subscriptions={"*": "subscribed", "channel:sms": "subscribed", "channel:email": "unsubscribed"})
    assert decide_entry(load_flow(sms_flow()), sms_only, NOW, [], event("signup", NOW)).enter
    walked = start(load_flow(sms_flow()), sms_only, NOW, "e-1", policy=NO_RULES)
    assert [a.channel for a in walked.actions if a.kind == "request_message"] == ["sms"]  # type: ignore[union-attr]
