"""When a wait step ends, in the contact's own time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from .contact import ContactView
from .local_time import WEEKDAYS, local_date, localize, next_local_time, parse_moment, zone
from .steps import UntilDate, WaitStep


def date_target(until: UntilDate, contact: ContactView, fallback_zone: str) -> datetime | None:
    """The instant `attribute ± offset` (at a local time of day if given); None if the contact has no such date.

    A bare date means local midnight unless `time` says otherwise.
    """
    tz = zone(contact.time_zone, fallback_zone)
    moment = parse_moment(contact.attributes.get(until.attribute), tz)
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        day: date = moment + timedelta(days=until.offset.days)
        return localize(day, until.time or time(0), tz)
    shifted = moment + until.offset
    if until.time is None:
        return shifted
    return localize(local_date(shifted, tz), until.time, tz)


def wait_target(step: WaitStep, contact: ContactView, now: datetime, fallback_zone: str) -> datetime | None:
    """When the wait is over. None only for an `until_date` whose date is missing or already past."""
    if step.duration is not None:
        return now + step.duration
    if step.until is not None:
        tz = zone(contact.time_zone, fallback_zone)
        days = frozenset(WEEKDAYS.index(d) for d in step.until.weekdays) if step.until.weekdays else None
        return next_local_time(now, step.until.time, tz, days)
    assert step.until_date is not None  # guaranteed by WaitStep's validator
    target = date_target(step.until_date, contact, fallback_zone)
    return target if target is not None and target > now else None
