"""Field types every shop-facing model shares: what an id, a line of text, a time or a free-form object may hold.

Checked where the data comes in, so nothing downstream meets what PostgreSQL, orjson, zoneinfo
or a signed link refuses: NUL and other control characters, integers past 64 bits, NaN,
years past the datetime range, time zones that do not exist. String rules are patterns (run by
pydantic's compiled regex engine, cheap on the ingest hot path); free-form objects are walked.
"""

from __future__ import annotations

import functools
import math
import re
import zoneinfo
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

# Ids (contacts, events, flows, steps, templates, segments): no spaces, no slashes, no control characters;
# emails and UUIDs fit, so do `order-1042:retry` and `c.1+test@example.com`.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}$"
# Event names as shops send them: `coupon_redeemed`, `Order Completed`, `kjøpt`. Letters of any script
# (any character past U+009F), digits, `. _ : -` and inner spaces. Written as negated classes: a Unicode
# `\w` with a bounded repeat costs the regex engine over a microsecond a name, these a few nanoseconds.
_NAME_END = r"[^\x00-\x20!-,/;-@\[-\^`{-\x9f\u2028\u2029]"
_NAME_INSIDE = r"[^\x00-\x1f!-,/;-@\[-\^`{-\x9f\u2028\u2029]"
EVENT_NAME_PATTERN = rf"^{_NAME_END}(?:{_NAME_INSIDE}{{0,126}}{_NAME_END})?$"
# Subscription topics, e.g. newsletter (lower case: they appear in preference-page URLs).
TOPIC_ID_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
# One line: no C0 or C1 control character at all (NUL, ESC, newline, tab, DEL, U+0085…).
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
# Free text: as a line, but tab, newline and carriage return are allowed.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"

# What each pattern means, for error answers a person can act on.
PATTERN_REASONS = {
    ID_PATTERN: "must be 1-128 characters: letters, digits and . _ : @ + - (starting with a letter or digit)",
    EVENT_NAME_PATTERN: "must be 1-128 letters, digits, spaces and . _ : - (no leading or trailing space)",
    TOPIC_ID_PATTERN: "must be 1-64 characters: lower-case letters, digits, _ and - (starting with a letter or digit)",
    LINE_PATTERN: "must be one line without control characters (NUL, ESC, newline, tab…)",
    TEXT_PATTERN: "must not contain control characters other than tab and newline (NUL, ESC…)",
}

Id = Annotated[str, Field(pattern=ID_PATTERN, description="1-128 of A-Z a-z 0-9 . _ : @ + -")]
EventName = Annotated[str, Field(pattern=EVENT_NAME_PATTERN, description="The event's name, e.g. coupon_redeemed.")]
TopicId = Annotated[str, Field(pattern=TOPIC_ID_PATTERN, description="A subscription topic, e.g. newsletter.")]
Label = Annotated[str, Field(min_length=1, max_length=200, pattern=LINE_PATTERN)]
Url = Annotated[str, Field(max_length=2048, pattern=LINE_PATTERN)]

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2201, 1, 1, tzinfo=UTC)
Timestamp = Annotated[
    AwareDatetime,
    Field(ge=EARLIEST, lt=LATEST, description="ISO 8601 with a UTC offset, in the years 1970-2200 (UTC)."),
]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Money = Annotated[Decimal, Field(ge=0, lt=Decimal(10) ** 15, max_digits=28, decimal_places=10)]


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - {"Factory", "localtime", "posixrules"})


def _iana_time_zone(name: str) -> str:
    if name not in _time_zones():
        raise PydanticCustomError("time_zone", "must be an IANA time zone name, e.g. Europe/Oslo")
    return name


TimeZoneName = Annotated[
    str, Field(max_length=64, description="IANA name, e.g. Europe/Oslo."), AfterValidator(_iana_time_zone)
]

# Free-form objects (event properties, contact attributes): JSON values, bounded.
MAX_DEPTH = 10
MAX_VALUES = 10_000
MAX_KEY_LENGTH = 200
_NOT_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_MAX_ERRORS = 20
Path = tuple[str | int, ...]


def free_form(value: dict[str, Any]) -> dict[str, Any]:
    """Keys are lines of at most 200 characters; strings are free text; numbers are finite and fit in 64 bits.

    Raises a ValidationError whose locations point inside the object, so answers name `$.properties.a[2]`.
    """
    if value and _values_if_clean(value, 1) < 0:
        problems: list[InitErrorDetails] = []
        _walk(value, (), 1, problems, [0])
        if problems:
            raise ValidationError.from_exception_data("free-form object", problems)
    return value


def _values_if_clean(container: dict[str, Any] | list[Any], depth: int) -> int:
    """How many values the container holds, or -1 when any breaks a rule: the cheap check every event takes.

    `str.isprintable` clears most strings without a regex (it is false for controls and surrogates).
    """
    if depth > MAX_DEPTH:
        return -1
    count = 0
    if isinstance(container, dict):
        for key in container:
            if type(key) is not str or not 0 < len(key) <= MAX_KEY_LENGTH:
                return -1
            if not key.isprintable() and _NOT_IN_LINE.search(key):
                return -1
        items: Any = container.values()
    else:
        items = container
    for item in items:
        kind = type(item)
        if kind is str:
            if not item.isprintable() and _NOT_IN_TEXT.search(item):
                return -1
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return -1
        elif kind is float:
            if not math.isfinite(item):
                return -1
        elif kind is dict or kind is list:
            inner = _values_if_clean(item, depth + 1)
            if inner < 0:
                return -1
            count += inner
        elif not (kind is bool or item is None):
            return -1  # anything else (a subclass, a Python-only type) gets the thorough walk
        count += 1
    return count if count <= MAX_VALUES else -1


def _walk(value: Any, path: Path, depth: int, problems: list[InitErrorDetails], seen: list[int]) -> None:
    seen[0] += 1
    if len(problems) >= _MAX_ERRORS:
        return
    if seen[0] > MAX_VALUES:
        if seen[0] == MAX_VALUES + 1:
            _problem(problems, path, "too_many_values", f"holds more than {MAX_VALUES:,} values in all", value)
        return
    if isinstance(value, str):
        if _NOT_IN_TEXT.search(value):
            _problem(problems, path, "control_character", PATTERN_REASONS[TEXT_PATTERN], value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            _problem(problems, path, "int64", "must be an integer that fits in 64 bits (signed)", value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            _problem(problems, path, "finite_number", "must be a finite number (no NaN or Infinity)", value)
    elif isinstance(value, dict | list):
        if depth > MAX_DEPTH:
            _problem(problems, path, "too_deep", f"nests objects and lists deeper than {MAX_DEPTH} levels", value)
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                _walk(item, (*path, index), depth + 1, problems, seen)
            return
        for key, item in value.items():
            if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH or _NOT_IN_LINE.search(key):
                reason = f"keys must be 1-{MAX_KEY_LENGTH} characters on one line without control characters"
                _problem(problems, (*path, str(key)), "invalid_key", reason, key)
            _walk(item, (*path, key), depth + 1, problems, seen)


def _problem(problems: list[InitErrorDetails], path: Path, kind: str, reason: str, value: Any) -> None:
    problems.append(InitErrorDetails(type=PydanticCustomError(kind, reason), loc=path, input=value))


FreeForm = Annotated[dict[str, Any], AfterValidator(free_form)]
