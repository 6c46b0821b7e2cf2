"""Each example flow, simulated end to end on a virtual clock (times are Oslo wall-clock)."""

from __future__ import annotations

from datetime import timedelta

import yaml
from pydantic import TypeAdapter

from services.ingest.domain.records import event_record
from services.ingest.domain.requests import EXAMPLES, EventIn
from services.scheduler.adapters.records import shop_event
from services.scheduler.domain.entry import triggered_by
from tests.unit.scheduler.support import FLOWS, START, TEMPLATES, contact, example, lines, run

SIGNUP = {"type": "signup", "after": "0s"}


def test_welcome_series_follows_up_by_experience_level_when_welcome_was_opened() -> None:
    who = contact(signed_up_at=START, attributes={"experience": "expert"})
    timeline = run("welcome-series", who, [SIGNUP, {"type": "message_opened", "after": "3h", "step": "welcome"}])
    assert lines(timeline) == [
        "2025-03-03 09:30 entered - signup",
        # The confirmation email came from ingest at sign-up; the grace delay covers accidental sign-ups.
        "2025-03-03 09:30 held    welcome grace delay of 10m after sign-up",
        "2025-03-03 09:40 message welcome email welcome-hello (marketing)",
        "2025-03-05 09:40 message resources-expert email welcome-day2-expert (marketing)",
        "2025-03-10 09:40 message check-in email welcome-checkin (marketing)",
        # 23 days of elapsed time cross the spring DST change, so the wall clock moves an hour.
        "2025-04-02 10:40 message monthly-update email welcome-monthly (marketing)",
        "2025-04-02 10:40 exit    - completed",
    ]


def test_welcome_series_tries_another_angle_when_welcome_was_not_opened() -> None:
    who = contact(signed_up_at=START, attributes={"experience": "beginner"})
    timeline = run("welcome-series", who, [SIGNUP, {"type": "message_opened", "after": "3h", "step": "welcome",
                                                    "machine": True}])  # fmt: skip
    assert "2025-03-05 09:40 message other-angle email welcome-other-angle (marketing)" in lines(timeline)


def test_welcome_series_business_owner_gets_roi_resources() -> None:
    who = contact(signed_up_at=START, attributes={"experience": "business_owner"})
    timeline = run("welcome-series", who, [SIGNUP, {"type": "message_opened", "after": "1d", "step": "welcome"}])
    assert "2025-03-05 09:40 message resources-business email welcome-day2-business (marketing)" in lines(timeline)


def test_late_evening_signup_gets_welcome_after_quiet_hours() -> None:
    late = START + timedelta(hours=11, minutes=30)  # 21:00 in Oslo
    who = contact(signed_up_at=late, attributes={"experience": "beginner"})
    timeline = run("welcome-series", who, [SIGNUP], days=3, start=late)
    assert lines(timeline)[:5] == [
        "2025-03-03 21:00 entered - signup",
        "2025-03-03 21:00 held    welcome grace delay of 10m after sign-up; quiet hours 21:00-08:00",
        "2025-03-04 08:00 message welcome email welcome-hello (marketing)",
        "2025-03-06 08:00 message other-angle email welcome-other-angle (marketing)",
    ]


def test_web_conversion_notifies_salesperson_two_days_after_the_guide_was_opened() -> None:
    submitted = {"type": "form_submitted", "after": "0s", "data": {"form": "pricing-guide"}}
    timeline = run("web-conversion", contact(), [submitted, {"type": "message_opened", "after": "5h", "step": "guide"}])
    assert lines(timeline) == [
        "2025-03-03 09:30 entered - form_submitted",
        "2025-03-03 09:30 message guide email web-guide-download (transactional)",
        "2025-03-05 14:30 notify  tell-sales https://crm.example.com/hooks/call-list",
        "2025-03-05 14:30 exit    done completed",
    ]


def test_web_conversion_reminds_after_two_days_without_an_open() -> None:
    submitted = {"type": "form_submitted", "after": "0s", "data": {"form": "pricing-guide"}}
    assert lines(run("web-conversion", contact(), [submitted])) == [
        "2025-03-03 09:30 entered - form_submitted",
        "2025-03-03 09:30 message guide email web-guide-download (transactional)",
        "2025-03-05 09:30 message reminder email web-guide-reminder (marketing)",
        "2025-03-10 09:30 exit    done completed",
    ]


def test_self_segmented_welcome_moves_contact_to_the_segment_they_click() -> None:
    # As real records arrive: the interests are the sign-up's, a click carries only its url (and step).
    who = contact()
    signup = {"type": "signup", "after": "0s", "data": {"source": "newsletter-form", "interests": ["hiking"]}}
    click = {"type": "message_clicked", "after": "1d", "step": "hiking", "data": {"url": "https://example.com/running"}}
    timeline = run("self-segmented-welcome", who, [signup, click])
    assert lines(timeline) == [
        "2025-03-03 09:30 entered - signup",
        "2025-03-03 09:30 message hiking email interest-hiking (marketing)",
        "2025-03-04 09:30 update  now-a-runner primary_interest=running +running",
        "2025-03-07 09:30 message running-picks email interest-running-picks (marketing)",
        "2025-03-07 09:30 exit    done completed",
    ]
    assert timeline.contact.attributes["primary_interest"] == "running"
    assert "running" in timeline.contact.tags


def test_purchase_ends_cart_flow() -> None:
    carts = [
        {"type": "cart_abandoned", "after": "-5d", "data": {"products": ["shoe-42", "sock"]}},
        {"type": "cart_abandoned", "after": "0s", "data": {"products": [{"id": "shoe-42"}]}},
    ]
    timeline = run("abandoned-cart", contact(), [*carts, {"type": "purchase", "after": "5h"}])
    assert lines(timeline) == [
        "2025-03-03 09:30 entered - cart_abandoned",
        "2025-03-03 10:30 message can-we-help email cart-help (marketing)",
        "2025-03-03 14:30 goal    next-day purchased",
        "2025-03-03 14:30 exit    next-day goal purchased",
    ]


def test_cart_flow_skips_a_single_cart_and_carts_without_a_returning_product() -> None:
    single = [{"type": "cart_abandoned", "after": "0s", "data": {"products": ["shoe-42"]}}]
    different = [
        {"type": "cart_abandoned", "after": "-3d", "data": {"products": ["hat"]}},
        {"type": "cart_abandoned", "after": "0s", "data": {"products": ["shoe-42"]}},
    ]
    assert lines(run("abandoned-cart", contact(), single)) == []
    assert lines(run("abandoned-cart", contact(), different)) == []


def test_cart_flow_runs_at_most_once_a_month() -> None:
    carts = [
        {"type": "cart_abandoned", "after": f"{day}d", "data": {"products": ["shoe-42"]}} for day in (0, 3, 10, 28, 34)
    ]
    entered = [line for line in lines(run("abandoned-cart", contact(), carts, days=40)) if " entered " in line]
    # The second cart enters; day 28 is still inside the month; day 34 may enter again.
    assert entered == ["2025-03-06 09:30 entered - cart_abandoned", "2025-04-06 10:30 entered - cart_abandoned"]


def test_win_back_tags_contacts_who_stay_away() -> None:
    entered = {"type": "segment_entered", "after": "0s", "data": {"segment": "lapsed-customers"}}
    assert lines(run("win-back", contact(), [entered])) == [
        "2025-03-03 09:30 entered - segment_entered",
        "2025-03-03 09:30 message miss-you email winback-miss-you (marketing)",
        "2025-03-10 09:30 message offer email winback-offer (marketing)",
        "2025-03-24 09:30 message last-chance email winback-last-chance (marketing)",
        "2025-03-31 10:30 update  mark-inactive +inactive",
        "2025-03-31 10:30 exit    - completed",
    ]


def test_win_back_ends_when_the_customer_buys_again() -> None:
    entered = {"type": "segment_entered", "after": "0s", "data": {"segment": "lapsed-customers"}}
    timeline = run("win-back", contact(), [entered, {"type": "purchase", "after": "8d"}])
    assert lines(timeline)[-2:] == [
        "2025-03-11 09:30 goal    two-weeks came-back",
        "2025-03-11 09:30 exit    two-weeks goal came-back",
    ]


def test_trial_onboarding_ends_at_trial_end() -> None:
    who = contact(attributes={"trial_ends_at": "2025-03-17T12:00:00+01:00"})
    assert lines(run("trial-onboarding", who, [{"type": "trial_started", "after": "0s"}])) == [
        "2025-03-03 09:30 entered - trial_started",
        "2025-03-03 09:30 message hello email trial-welcome (transactional)",
        "2025-03-04 09:30 message first-tips email trial-tips (marketing)",
        "2025-03-14 10:00 message ending-soon email trial-ending (marketing)",
        "2025-03-17 12:00 message ended email trial-ended (marketing)",
        "2025-03-17 12:00 exit    - completed",
    ]


def test_birthday_offer_arrives_at_nine_local_time_every_year() -> None:
    who = contact(attributes={"birthday": "1990-03-30"})
    assert lines(run("birthday", who, [], days=400)) == [
        "2025-03-30 09:00 entered -",
        "2025-03-30 09:00 message offer email birthday-offer (marketing)",
        "2025-04-04 09:00 message reminder email birthday-reminder (marketing)",
        "2025-04-04 09:00 exit    - completed",
        "2026-03-30 09:00 entered -",
        "2026-03-30 09:00 message offer email birthday-offer (marketing)",
        "2026-04-04 09:00 message reminder email birthday-reminder (marketing)",
        "2026-04-04 09:00 exit    - completed",
    ]


def test_webinar_reminds_before_the_event_and_asks_for_feedback_after() -> None:
    who = contact(attributes={"webinar_at": "2025-03-20T15:00:00+01:00"})
    signup = {"type": "signup", "after": "0s", "data": {"source": "webinar-form"}}
    assert lines(run("webinar", who, [signup])) == [
        "2025-03-03 09:30 entered - signup",
        "2025-03-03 09:30 message confirmed email webinar-confirmed (transactional)",
        "2025-03-13 09:00 message remind-week email webinar-week-before (transactional)",
        "2025-03-19 09:00 message remind-day email webinar-day-before (transactional)",
        "2025-03-20 14:00 message starting-soon sms webinar-starting (transactional)",
        "2025-03-21 10:00 message feedback email webinar-feedback (marketing)",
        "2025-03-21 10:00 exit    - completed",
    ]


def test_late_webinar_registration_skips_reminders_that_already_passed() -> None:
    who = contact(attributes={"webinar_at": "2025-03-05T15:00:00+01:00"})
    signup = {"type": "signup", "after": "0s", "data": {"source": "webinar-form"}}
    sent = [line for line in lines(run("webinar", who, [signup])) if " message " in line]
    assert [line.split()[3] for line in sent] == ["confirmed", "remind-day", "starting-soon", "feedback"]


def test_webinar_ignores_signups_from_other_forms() -> None:
    signup = {"type": "signup", "after": "0s", "data": {"source": "newsletter-form"}}
    assert lines(run("webinar", contact(attributes={"webinar_at": "2025-03-20T15:00:00+01:00"}), [signup])) == []


def test_account_nurture_speaks_to_each_role_at_the_same_company() -> None:
    entered = {"type": "segment_entered", "after": "0s", "data": {"segment": "target-accounts"}}
    first_messages = {}
    for index, role in enumerate(["decision_maker", "technical", "end_user"]):
        who = contact(id=f"acme-{index}", attributes={"role": role, "company": "Acme"})
        first_messages[role] = lines(run("account-nurture", who, [entered]))[1].split()[3]
    assert first_messages == {"decision_maker": "roi", "technical": "architecture", "end_user": "daily-use"}


def test_account_nurture_tells_the_owner_about_a_click() -> None:
    entered = {"type": "segment_entered", "after": "0s", "data": {"segment": "target-accounts"}}
    clicks = [{"type": "message_clicked", "after": "9d", "step": step} for step in ("case-numbers", "case-people")]
    who = contact(attributes={"role": "technical", "company": "Acme"})
    assert lines(run("account-nurture", who, [entered, *clicks])) == [
        "2025-03-03 09:30 entered - segment_entered",
        "2025-03-03 09:30 message architecture email abm-architecture (marketing)",
        "2025-03-11 10:00 message case-numbers email abm-case-study-a (marketing)",
        "2025-03-12 09:30 notify  tell-owner https://crm.example.com/hooks/account-activity",
        "2025-03-12 09:30 exit    done completed",
    ]


def test_simulation_shows_template_subjects() -> None:
    timeline = run("birthday", contact(attributes={"birthday": "1990-03-30"}), [], days=30)
    assert timeline.lines("Europe/Oslo", with_subject=True)[1] == (
        '2025-03-30 09:00 message offer email birthday-offer (marketing) "Happy birthday, '
        '{{ contact.first_name | default: "friend" }}!"'
    )


def test_example_templates_exist_for_every_send_and_carry_the_required_keys() -> None:
    templates = {p.stem: yaml.safe_load(p.read_text()) for p in TEMPLATES.glob("*.yaml")}
    for name, template in templates.items():
        assert template["id"] == name
        assert template["category"] in ("marketing", "transactional")
        assert {"subject", "preheader"} <= set(template) and len({"html", "mjml"} & set(template)) == 1
    for path in FLOWS.glob("*.yaml"):
        flow = example(path.stem)
        for step in flow.steps:
            if step.type == "send":
                assert step.template in templates, f"{path.name}: {step.template}"


def test_the_ingest_apis_form_example_starts_the_web_conversion_flow() -> None:
    """The OpenAPI example a newcomer copies is the form the example flow listens for, with its document link."""
    body = TypeAdapter(EventIn).validate_python(EXAMPLES["form_submitted"])
    _, record = event_record(body, workspace_id="demo", contact_id="c-1", event_id="ev-1", received_at=START)
    event = shop_event(record)
    assert event.data["form"] == "pricing-guide" and event.data["document_url"].endswith(".pdf")
    assert triggered_by(example("web-conversion"), event, contact(), START)
