"""Send-time optimisation for `at: best_time`: send when this reader has engaged before.

Each whole hour from now to the end of the step's window is a candidate. A candidate scores by how
often the contact opened or clicked (people only, never proxies or scanners) in the same hour of the
week in their time zone, then in the same hour of any day. Without any such history the workspace's
audience hours (UTC) decide; without those, the message goes now. Ties go to the sooner hour, so a
reader with no preference is never kept waiting. Quiet hours and caps are judged afterwards, as for
any send.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .contact import MESSAGE_CLICKED, MESSAGE_OPENED, Event
from .local_time import as_utc

HOURS_PER_WEEK = 168
_ENGAGED = (MESSAGE_OPENED, MESSAGE_CLICKED)


def hour_of_week(at: datetime, tz: ZoneInfo = ZoneInfo("UTC")) -> int:
    """0 = Monday 00:00–00:59 … 167 = Sunday 23:00, on the wall clock of `tz`."""
    local = as_utc(at).astimezone(tz)
    return local.weekday() * 24 + local.hour


def engaged_hours(history: Iterable[Event], tz: ZoneInfo) -> Counter[int]:
    """How often the contact opened or clicked in each local hour of the week (people only)."""
    return Counter(hour_of_week(e.at, tz) for e in history if e.type in _ENGAGED and not e.machine)


def _candidates(now: datetime, within: timedelta) -> list[datetime]:
    """Now, then every top of the hour up to `now + within`."""
    found = [now]
    top = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while top <= now + within:
        found.append(top)
        top += timedelta(hours=1)
    return found


def _best(candidates: list[datetime], score: Mapping[int, int], tz: ZoneInfo) -> datetime | None:
    daily: Counter[int] = Counter()
    for hour, count in score.items():
        daily[hour % 24] += count
    best: tuple[int, int] = (0, 0)
    chosen: datetime | None = None
    for at in candidates:
        hour = hour_of_week(at, tz)
        points = (score.get(hour, 0), daily[hour % 24])
        if points > best:
            best, chosen = points, at
    return chosen


def best_send_time(
    history: Iterable[Event],
    now: datetime,
    tz: ZoneInfo,
    within: timedelta,
    audience_hours: Mapping[int, int] | None = None,
) -> datetime:
    """When to send: the contact's best hour within the window, else the audience's, else now."""
    now = as_utc(now)
    candidates = _candidates(now, within)
    own = engaged_hours(history, tz)
    chosen = _best(candidates, own, tz) if own else None
    if chosen is None and audience_hours:
        chosen = _best(candidates, audience_hours, ZoneInfo("UTC"))
    return (chosen or now).astimezone(UTC)
