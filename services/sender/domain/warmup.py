"""A new sending domain's warm-up: the most emails it may send each day, ramping up from the day it was added.

Mailbox providers distrust a domain that starts at full volume; a ramp builds its reputation first.
"""

from __future__ import annotations

from datetime import date

__all__ = ["WarmupError", "daily_limit", "parse_schedule"]


class WarmupError(ValueError):
    """`DRIPLINE_WARMUP_SCHEDULE` cannot be read."""


def parse_schedule(text: str) -> tuple[int, ...]:
    """Daily volumes, first day first, each at least the one before."""
    try:
        volumes = tuple(int(word) for word in text.replace(",", " ").split())
    except ValueError:
        raise WarmupError(f"the warm-up schedule takes whole numbers of emails a day, not {text!r}") from None
    if any(volume < 1 for volume in volumes):
        raise WarmupError(f"every day of the warm-up schedule allows at least one email: {text!r}")
    if list(volumes) != sorted(volumes):
        raise WarmupError(f"the warm-up schedule ramps up, never down: {text!r}")
    return volumes


def daily_limit(schedule: tuple[int, ...], started_on: date | None, today: date) -> int | None:
    """Emails the domain may send on `today`; None when it is past its warm-up (or has none)."""
    if started_on is None:
        return None
    day = (today - started_on).days
    if day >= len(schedule):
        return None
    return schedule[max(day, 0)]
