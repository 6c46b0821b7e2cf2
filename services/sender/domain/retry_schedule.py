"""When to try a deferred message again: the retry schedule operators set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["RetrySchedule", "parse_delays"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_delays(spec: str) -> tuple[timedelta, ...]:
    """``"1m, 5m, 30m, 2h, 6h"`` → delays; a setting stays readable for operators."""
    delays = []
    for item in spec.replace(",", " ").split():
        number, unit = item[:-1], item[-1:].lower()
        if unit not in _UNITS or not number.isdigit():
            raise ValueError(f"bad delay {item!r}: use a number and one of s, m, h, d")
        delays.append(timedelta(seconds=int(number) * _UNITS[unit]))
    return tuple(delays)


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """How long to wait after each failed attempt; past the last delay, give up."""

    delays: tuple[timedelta, ...] = parse_delays("1m 5m 30m 2h 6h")

    def next_attempt(self, failed_attempts: int, last_attempt_at: datetime) -> datetime | None:
        """When to try again after ``failed_attempts`` deferrals, or None to give up."""
        if failed_attempts < 1:
            raise ValueError("next_attempt is asked after at least one failed attempt")
        if failed_attempts > len(self.delays):
            return None
        return last_attempt_at + self.delays[failed_attempts - 1]
