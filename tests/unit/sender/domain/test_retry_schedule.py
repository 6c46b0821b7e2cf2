"""Deferred messages are tried again on the operators' schedule, then given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.sender.domain.retry_schedule import RetrySchedule, parse_delays


def test_retry_schedule_walks_the_delays_then_gives_up() -> None:
    schedule = RetrySchedule(parse_delays("1m, 5m, 30m, 2h, 6h"))
    last = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert schedule.next_attempt(1, last) == last + timedelta(minutes=1)
    assert schedule.next_attempt(5, last) == last + timedelta(hours=6)
    assert schedule.next_attempt(6, last) is None


def test_bad_delay_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="bad delay"):
        parse_delays("1m, soon")
