"""Wall-clock arithmetic in a contact's time zone, safe across DST gaps and folds.

Every instant the engine returns is timezone-aware UTC; local times exist only inside this module.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """Resolve an IANA zone; an unknown or missing zone falls back so a typo never stalls a flow."""
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def as_utc(moment: datetime) -> datetime:
    """Normalise to aware UTC; naive values are read as UTC because inputs come from JSON."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _offset_after(at: datetime, tz: ZoneInfo) -> timedelta:
    offset = at.astimezone(tz).utcoffset()
    return offset if offset is not None else timedelta(0)


def localize(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant when the wall clock in `tz` shows `clock` on `day`.

    An ambiguous time (DST fold) resolves to its first occurrence; a time inside a DST gap
    resolves to the end of the gap, the first wall-clock time that does exist after it.
    """
    naive = datetime.combine(day, clock)
    first = naive.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return first.astimezone(UTC)
    # Inside a gap: the transition lies between the two readings; bisect to it.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    low, high = min(low, high), max(low, high)
    after = _offset_after(high, tz)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _offset_after(middle, tz) == after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return as_utc(moment).astimezone(tz).date()


def next_local_time(after: datetime, clock: time, tz: ZoneInfo, weekdays: frozenset[int] | None = None) -> datetime:
    """The first instant strictly after `after` when the local clock shows `clock` (on an allowed weekday)."""
    day = local_date(after, tz) - timedelta(days=1)
    for _ in range(400):
        day += timedelta(days=1)
        if weekdays and day.weekday() not in weekdays:
            continue
        candidate = localize(day, clock, tz)
        if candidate > as_utc(after):
            return candidate
    raise ValueError("no matching local time within a year")


def in_window(moment: datetime, start: time, end: time, tz: ZoneInfo) -> bool:
    """Whether the local clock at `moment` lies in [start, end); windows may wrap midnight."""
    clock = as_utc(moment).astimezone(tz).time()
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


def parse_moment(value: object, tz: ZoneInfo) -> datetime | date | None:
    """Read a contact attribute holding a date or a datetime (ISO text or native)."""
    if isinstance(value, datetime):
        return as_utc(value) if value.tzinfo else value.replace(tzinfo=tz).astimezone(UTC)
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return as_utc(parsed) if parsed.tzinfo else parsed.replace(tzinfo=tz).astimezone(UTC)


def shift_years(day: date, years: int) -> date:
    """Move a date by whole years; 29 February becomes 28 February in common years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
