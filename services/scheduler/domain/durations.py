"""Durations and times of day as marketers write them (`10m`, `2d`, `-7d`, `09:00`)."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_PART = re.compile(r"(\d+)([wdhms])")
_WHOLE = re.compile(r"^[+-]?(\d+[wdhms])+$")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION_PATTERN = r"^[+-]?(\d+[wdhms])+$"
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
# Longer than any journey needs, and far inside what date arithmetic can carry.
LONGEST = timedelta(days=3660)


def parse_duration(text: str) -> timedelta:
    """Parse `1d12h`, `10m` or `-7d`; a bare unit-less number is refused so `2` never means 2 seconds."""
    cleaned = text.strip().replace(" ", "")
    if not _WHOLE.match(cleaned):
        raise ValueError(f"'{text}' is not a duration; write it like 10m, 2h, 3d or 1w")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(cleaned))
    if seconds > LONGEST.total_seconds():
        raise ValueError(f"'{text}' is longer than 10 years; write a shorter duration")
    return timedelta(seconds=-seconds if cleaned.startswith("-") else seconds)


def format_duration(value: timedelta) -> str:
    """Render a duration back in the short form, largest units first."""
    seconds = int(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    parts = []
    for unit, size in _UNITS.items():
        if unit == "w":
            continue
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + ("".join(parts) or "0s")


def parse_time_of_day(text: str) -> time:
    """Parse `HH:MM` on a 24-hour clock."""
    if not re.match(TIME_PATTERN, text.strip()):
        raise ValueError(f"'{text}' is not a time of day; write it like 09:00 or 21:30")
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


def _coerce_duration(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


def _coerce_time(value: object) -> object:
    return parse_time_of_day(value) if isinstance(value, str) else value


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["10m", "2d", "-7d"]}),
]
TimeOfDay = Annotated[
    time,
    BeforeValidator(_coerce_time),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN, "examples": ["09:00"]}),
]
