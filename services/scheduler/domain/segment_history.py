"""A segment's membership day by day, counted back from its members now and the entries and exits since.

Contacts' histories keep each `segment_entered` / `segment_left` for the history window, so a day's
members are today's, less those who entered after that day, plus those who left after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class MembershipDay:
    day: date
    entered: int
    left: int
    members: int  # at the end of the day


def membership_by_day(
    members_now: int, changes: Mapping[date, tuple[int, int]], today: date, days: int
) -> list[MembershipDay]:
    """The last `days` days, oldest first; `changes` holds (entered, left) by day, days without any absent."""
    found: list[MembershipDay] = []
    members = members_now
    for back in range(days):
        day = today - timedelta(days=back)
        entered, left = changes.get(day, (0, 0))
        found.append(MembershipDay(day, entered, left, members))
        members = max(0, members - entered + left)  # the day before's end
    return found[::-1]
