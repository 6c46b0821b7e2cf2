"""A segment's members day by day, counted back from now through the entries and exits."""

from __future__ import annotations

from datetime import date

from services.scheduler.domain.segment_history import MembershipDay, membership_by_day

TODAY = date(2026, 12, 3)


def test_each_days_members_are_todays_less_later_entries_plus_later_exits() -> None:
    changes = {date(2026, 12, 3): (5, 1), date(2026, 12, 1): (10, 0)}
    assert membership_by_day(14, changes, TODAY, 4) == [
        MembershipDay(date(2026, 11, 30), 0, 0, 0),
        MembershipDay(date(2026, 12, 1), 10, 0, 10),
        MembershipDay(date(2026, 12, 2), 0, 0, 10),
        MembershipDay(date(2026, 12, 3), 5, 1, 14),
    ]


def test_members_older_than_the_history_never_go_below_zero() -> None:
    # Entries older than the history window are not seen: the count back stops at zero, never negative.
    assert [day.members for day in membership_by_day(3, {TODAY: (7, 0)}, TODAY, 2)] == [0, 3]
