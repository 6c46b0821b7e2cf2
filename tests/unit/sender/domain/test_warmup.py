"""A new sending domain's daily ramp."""

from __future__ import annotations

from datetime import date

import pytest

from services.sender.domain.warmup import WarmupError, daily_limit, parse_schedule
from shared.settings import SenderSettings

START = date(2026, 12, 1)


def test_each_day_since_the_domain_was_added_has_its_volume_then_no_limit() -> None:
    schedule = parse_schedule("50, 100 500")

    assert [daily_limit(schedule, START, date(2026, 12, d)) for d in (1, 2, 3, 4, 30)] == [50, 100, 500, None, None]
    assert daily_limit(schedule, None, START) is None  # not warming up
    assert daily_limit(schedule, START, date(2026, 11, 30)) == 50  # a clock behind the start day
    assert daily_limit(parse_schedule(""), START, START) is None
    assert parse_schedule(SenderSettings.model_fields["warmup_schedule"].default)[0] == 200


@pytest.mark.parametrize("text", ["50 x", "0 10", "100 50"])
def test_a_schedule_that_cannot_be_a_ramp_is_refused(text: str) -> None:
    with pytest.raises(WarmupError):
        parse_schedule(text)
