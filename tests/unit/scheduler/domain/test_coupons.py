"""Discount codes: how a send step asks for one, what a made-up code looks like, pool files, redemptions."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.scheduler.domain import Event
from services.scheduler.domain.coupons import (
    ALPHABET,
    Coupon,
    CouponRule,
    generate_code,
    generated,
    read_pool_file,
    redeemed_codes,
)
from services.scheduler.domain.message_checks import message_problems
from services.scheduler.domain.validation import check_flow

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_generated_code_has_the_prefix_and_ten_unambiguous_random_letters() -> None:
    code = generate_code("BACK")
    assert re.fullmatch(rf"BACK-[{ALPHABET}]{{10}}", code), code
    assert not set(code.removeprefix("BACK-")) & set("0O1IL")
    assert len({generate_code("BACK") for _ in range(200)}) == 200  # from `secrets`: no two alike


def test_a_generated_coupon_expires_its_rule_s_time_after_issue() -> None:
    rule = CouponRule.model_validate({"generate": {"prefix": "BACK", "expires_in": "14d"}})
    letters = itertools.cycle("AB")
    assert rule.generate is not None
    coupon = generated(rule.generate, NOW, lambda _: next(letters))
    assert coupon == Coupon(code="BACK-ABABABABAB", expires_at=NOW + timedelta(days=14))
    assert coupon.template_value() == {"code": "BACK-ABABABABAB", "expires_at": "2026-03-16T09:00:00+00:00"}
    assert Coupon(code="SPRING-1", pool="spring").template_value() == {"code": "SPRING-1"}


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ({}, "exactly one of pool"),
        ({"pool": "spring", "generate": {"prefix": "BACK", "expires_in": "14d"}}, "exactly one of pool"),
        ({"generate": {"prefix": "BACK", "expires_in": "10m"}}, "between 1h and 366d"),
        ({"generate": {"prefix": "back", "expires_in": "14d"}}, "should match pattern"),
        ({"pool": "Spring Sale"}, "should match pattern"),
    ],
)
def test_a_coupon_rule_takes_a_pool_or_a_generator_and_says_what_is_wrong(rule: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        CouponRule.model_validate(rule)


FLOW = """\
id: repeat
name: Repeat buyers
triggers:
  - type: event
    event: purchase
steps:
  - id: offer
    type: send
    template: repeat-offer
    coupon: {COUPON}
"""


def test_a_flow_file_names_the_line_of_a_wrong_coupon() -> None:
    flow, problems = check_flow(FLOW.replace("{COUPON}", "{pool: spring, generate: {prefix: X, expires_in: 1d}}"))
    assert flow is None
    assert [(p.line, p.reason) for p in problems] == [
        (10, "send step 'offer': a coupon needs exactly one of pool (e.g. pool: spring), generate (e.g. generate: "
         "{prefix: BACK, expires_in: 14d}) or from_step (the step whose code to show again)"),
    ]  # fmt: skip
    flow, problems = check_flow(FLOW.replace("{COUPON}", "{generate: {prefix: BACK, expires_in: 14d}}"))
    assert problems == [] and flow is not None


REMINDER = """\
  - id: reminder
    type: send
    template: repeat-reminder
    coupon: {from_step: offer}
"""


def test_a_reminder_shows_the_code_of_an_earlier_send_step_that_gives_one() -> None:
    good = FLOW.replace("{COUPON}", "{pool: spring}") + REMINDER
    assert check_flow(good)[1] == []
    for coupon in ("{from_step: reminder}", "{from_step: nowhere}"):
        _, problems = check_flow(FLOW.replace("{COUPON}", coupon) + REMINDER)
        assert [(p.line, p.reason) for p in problems][:1] == [
            (10, f"step 'offer' shows the coupon of '{coupon[12:-1]}', which is not a send step that gives one")
        ]
    assert CouponRule(from_step="offer").missing_reason() == "no coupon was issued at step 'offer' to show again"
    assert SPRING_RULE.missing_reason() == (
        "coupon pool 'spring' has no codes left; import more with `dripline coupons import spring FILE`"
    )


SPRING_RULE = CouponRule(pool="spring")


def test_a_pool_file_takes_a_code_column_or_one_code_a_line_and_names_bad_lines() -> None:
    named = read_pool_file("code,expires_at\nSPRING-1,2026-06-30T23:59:00+02:00\nSPRING-2,\nSPRING-1,\n")
    assert [code for code, _ in named.codes] == ["SPRING-1", "SPRING-2"] and named.problems == ()
    assert named.codes[0][1] == datetime(2026, 6, 30, 21, 59, tzinfo=UTC)
    assert read_pool_file("A1\nA2\n\nA3\n").codes == (("A1", None), ("A2", None), ("A3", None))
    bad = read_pool_file("code,expires_at\nok-1,\nnot a code,\nok-2,2026-06-30\n")
    assert bad.problems == (
        (3, "'not a code' is not a code: letters, digits, - and _, at most 64"),
        (4, "'2026-06-30' has no time zone; write it like 2026-06-30T23:59:00+02:00"),
    )
    assert read_pool_file("").problems == ((1, "the file is empty"),)


def test_a_purchase_redeems_the_codes_it_names_and_other_events_none() -> None:
    purchase = Event(id="p", type="purchase", at=NOW, data={"discount_codes": [" BACK-1 ", "BACK-1", "", 7]})
    assert redeemed_codes(purchase) == ("BACK-1",)
    assert redeemed_codes(Event(id="p", type="purchase", at=NOW, data={})) == ()
    assert redeemed_codes(Event(id="c", type="cart_updated", at=NOW, data={"discount_codes": ["X"]})) == ()


TEMPLATE = """\
id: repeat-offer
subject: "Your code"
text: |
  Hi,
  use {{ coupon.code }} before {{ coupon.expires_at | default: "long" }}.
"""


def test_publishing_names_a_template_line_that_prints_a_code_its_step_does_not_give() -> None:
    templates = {"repeat-offer": ("repeat-offer.yaml", TEMPLATE)}
    for coupon, expected in (
        ("{generate: {prefix: BACK, expires_in: 14d}}", []),
        ("null", [("repeat-offer.yaml", 5, "text: coupon.code: this send step gives no coupon; add coupon: {pool: …} "
                   "or {generate: …} to it (sent by step 'offer' of flow repeat)")]),
    ):  # fmt: skip
        text = FLOW.replace("{COUPON}", coupon)
        flow, _ = check_flow(text)
        assert flow is not None
        found = message_problems(flow, text, "repeat.yaml", templates)
        assert [(p.file, p.line, p.reason) for p in found] == expected
