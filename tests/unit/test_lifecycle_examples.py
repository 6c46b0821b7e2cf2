"""Lifecycle examples on a virtual clock, as a marketer reads them: who gets what, when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from services.scheduler.domain.facts import CustomerFacts
from services.scheduler.domain.segment_clock import STEP, next_flip
from tests.unit.scheduler.support import ROOT, contact, lines, run


def _view(product: str, after: str) -> dict[str, Any]:
    # What the scheduler makes of a `product_viewed` event: its name as `event.product` and as a product.
    return {"type": "product_viewed", "after": after, "data": {"product": product, "products": [{"id": product}]}}


def test_browse_abandonment_writes_an_hour_after_a_second_look_at_the_same_product() -> None:
    timeline = run(
        "browse-abandonment", contact(), [_view("shoe-42", "0s"), _view("hat", "2h"), _view("shoe-42", "5h")]
    )
    assert lines(timeline) == [
        "2025-03-03 14:30 entered - product_viewed",
        "2025-03-03 15:30 message still-looking email browse-still-looking (marketing)",
        "2025-03-03 15:30 exit    - completed",
    ]


def test_browse_abandonment_leaves_single_looks_and_looks_days_apart_alone() -> None:
    assert lines(run("browse-abandonment", contact(), [_view("shoe-42", "0s"), _view("hat", "1h")])) == []
    assert lines(run("browse-abandonment", contact(), [_view("shoe-42", "0s"), _view("shoe-42", "3d")])) == []


def test_browse_abandonment_ends_on_a_purchase_or_a_cart_before_the_note() -> None:
    looks = [_view("shoe-42", "0s"), _view("shoe-42", "10m")]
    for ending, goal in (("purchase", "bought"), ("cart_updated", "carted")):
        timeline = run("browse-abandonment", contact(), [*looks, {"type": ending, "after": "30m"}])
        assert lines(timeline)[-1] == f"2025-03-03 10:00 exit    let-them-browse goal {goal}"
        assert not any(" message " in line for line in lines(timeline))


def test_browse_abandonment_writes_at_most_once_a_week() -> None:
    looks = [_view("shoe-42", f"{day}d{hours}h") for day in (0, 2, 8) for hours in (0, 1)]
    sent = [line for line in lines(run("browse-abandonment", contact(), looks, days=14)) if " message " in line]
    assert [line[:10] for line in sent] == ["2025-03-03", "2025-03-11"]


ENROLLED = {"type": "enroll_requested", "after": "0s", "data": {"flow_id": "engagement-follow-up"}}


def _sends(records: list[dict[str, Any]]) -> list[str]:
    return [line for line in lines(run("engagement-follow-up", contact(), [ENROLLED, *records])) if " message " in line]


def test_engagement_follow_up_gives_who_opened_but_did_not_click_another_angle() -> None:
    opened = {"type": "message_opened", "after": "3h", "step": "announcement"}
    assert _sends([opened]) == [
        "2025-03-03 09:30 message announcement email followup-new-collection (marketing)",
        "2025-03-05 09:30 message other-angle email followup-other-angle (marketing)",
    ]


def test_engagement_follow_up_nudges_who_clicked_but_did_not_buy_and_leaves_buyers_and_the_silent_alone() -> None:
    clicked = {"type": "message_clicked", "after": "3h", "step": "announcement"}
    assert _sends([clicked])[1:] == ["2025-03-06 12:30 message nudge email followup-still-deciding (marketing)"]
    assert _sends([clicked, {"type": "purchase", "after": "1d"}])[1:] == []
    assert _sends([])[1:] == []  # neither opened nor clicked: nothing more
    # A proxy's open is not a person's: no second angle for it.
    assert _sends([{"type": "message_opened", "after": "3h", "step": "announcement", "machine": True}])[1:] == []


REENGAGE = {"type": "segment_entered", "after": "0s", "data": {"segment": "unengaged-subscribers"}}


def _stopped_opening(**facts: Any) -> Any:
    """A subscriber whose last open was 100 days before the simulation starts."""
    return contact(facts={"last_open_at": "2024-11-23T08:30:00Z", **facts})


def test_re_engagement_sends_a_last_chance_then_unsubscribes_who_stays_silent() -> None:
    assert lines(run("re-engagement", _stopped_opening(), [REENGAGE])) == [
        "2025-03-03 09:30 entered - segment_entered",
        "2025-03-03 09:30 message last-chance email reengage-last-chance (marketing)",
        "2025-03-17 09:30 update  sunset +sunset unsubscribed from marketing (sunset)",
        "2025-03-17 09:30 exit    gone sunset",
    ]


def test_re_engagement_keeps_who_opens_the_last_chance() -> None:
    opened = {"type": "message_opened", "after": "2d", "step": "last-chance"}
    assert (
        lines(run("re-engagement", _stopped_opening(), [REENGAGE, opened]))[-1]
        == "2025-03-05 09:30 exit    stays re-engaged"
    )


def test_a_privacy_proxys_open_of_the_last_chance_does_not_save_anyone() -> None:
    proxy = {"type": "message_opened", "after": "2d", "step": "last-chance", "machine": True}
    assert lines(run("re-engagement", _stopped_opening(), [REENGAGE, proxy]))[-2:] == [
        "2025-03-17 09:30 update  sunset +sunset unsubscribed from marketing (sunset)",
        "2025-03-17 09:30 exit    gone sunset",
    ]


def test_re_engagement_keeps_who_clicked_something_else_meanwhile() -> None:
    # A person's click in another email a week in: the facts' engagement is no longer `unengaged`.
    clicked = {"type": "message_clicked", "after": "7d", "step": "newsletter"}
    timeline = run("re-engagement", _stopped_opening(), [REENGAGE, clicked])
    assert lines(timeline)[-1] == "2025-03-17 09:30 exit    stays re-engaged"


def test_who_stopped_opening_enters_the_unengaged_segment_the_moment_their_last_open_turns_90_days_old() -> None:
    segment = yaml.safe_load((ROOT / "examples" / "segments" / "unengaged-subscribers.yaml").read_text())
    condition, now = segment["condition"], datetime(2026, 6, 2, 10, tzinfo=UTC)
    opened = now - timedelta(days=60)
    reader = contact(facts=CustomerFacts(last_open_at=opened))
    assert next_flip(condition, reader, now) == opened + timedelta(days=90) + STEP
    assert next_flip(condition, reader, opened + timedelta(days=91)) is None  # unengaged until they open again
    assert next_flip(condition, contact(), now) is None  # never opened: never started, so never stopped


def _orders(*afters: str) -> list[dict[str, Any]]:
    return [{"type": "purchase", "after": after, "data": {"order_id": f"o-{n}"}} for n, after in enumerate(afters)]


def test_post_purchase_thanks_then_offers_a_code_of_their_own_and_reminds_of_it_before_it_runs_out() -> None:
    assert lines(run("post-purchase", contact(), _orders("0s"))) == [
        "2025-03-03 09:30 entered - purchase",
        "2025-03-06 09:30 message thanks email purchase-thanks (marketing)",
        "2025-03-20 09:30 message come-back email repeat-offer (marketing) with a coupon (generated BACK)",
        # Ten days on (summer time began that morning), the same code again; it runs out four days later.
        "2025-03-30 10:30 message code-reminder email repeat-reminder (marketing) with a coupon (of step come-back)",
        "2025-04-03 10:30 exit    - completed",
    ]


def test_post_purchase_ends_on_the_second_purchase_before_or_after_the_code() -> None:
    assert lines(run("post-purchase", contact(), _orders("0s", "20d")))[-2:] == [
        "2025-03-23 09:30 goal    ten-days second-purchase",
        "2025-03-23 09:30 exit    ten-days goal second-purchase",
    ]
    early = lines(run("post-purchase", contact(), _orders("0s", "5d", "60d"), days=90))
    assert early[-1] == "2025-03-08 09:30 exit    two-weeks goal second-purchase"
    assert not any("repeat-offer" in line for line in early)  # a repeat buyer already: no code, and no new entry
