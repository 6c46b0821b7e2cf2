from __future__ import annotations

from datetime import timedelta

import pytest

from services.scheduler.domain.durations import parse_duration


def test_ten_years_is_the_longest_duration() -> None:
    assert parse_duration("3660d") == timedelta(days=3660)
    assert parse_duration("-3660d") == timedelta(days=-3660)


@pytest.mark.parametrize("text", ["3661d", "5d194925822632321127d", "-99999999999w"])
def test_a_duration_past_ten_years_is_refused_as_bad_input(text: str) -> None:
    with pytest.raises(ValueError, match="longer than 10 years"):
        parse_duration(text)
