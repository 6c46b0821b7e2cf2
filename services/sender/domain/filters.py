"""Liquid filters that format money and dates in the reader's locale and time zone.

They read the reader's locale and zone from the reserved ``dripline`` render variable,
so one compiled template serves every contact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import UnknownCurrencyError, format_currency, format_decimal
from liquid.exceptions import FilterArgumentError, FilterValueError
from liquid.filter import with_context

__all__ = ["FILTERS", "RESERVED", "format_day", "locale_of", "parse_instant"]

RESERVED = "dripline"
_DEFAULT_LOCALE = "en"
_DEFAULT_ZONE = "UTC"


@lru_cache(maxsize=256)
def locale_of(tag: str) -> Locale:
    """Babel locale for ``en``, ``nb-NO`` or ``sv_SE``; unknown tags fall back to English."""
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(_DEFAULT_LOCALE)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(_DEFAULT_ZONE)


def _reader(context: Any) -> tuple[Locale, ZoneInfo]:
    settings = context.get([RESERVED], token=None, default={})
    if not isinstance(settings, dict):
        settings = {}
    return (
        locale_of(str(settings.get("locale") or _DEFAULT_LOCALE)),
        _zone(str(settings.get("time_zone") or _DEFAULT_ZONE)),
    )


def parse_instant(value: object) -> datetime:
    """An aware datetime from an ISO-8601 string or datetime; naive values are taken as UTC."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        instant = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as err:
            raise FilterValueError(f"not an ISO-8601 date: {value!r}", token=None) from err
    else:
        raise FilterValueError(f"expected a date, found {type(value).__name__}", token=None)
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _amount(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise FilterValueError(f"expected an amount, found {type(value).__name__}", token=None)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as err:
        raise FilterValueError(f"not an amount: {value!r}", token=None) from err


@lru_cache(maxsize=4096)
def _format_money(amount: Decimal, currency: str, locale: Locale) -> str:
    # Babel's formatting costs tens of microseconds; one message shows a total several times.
    if not currency:
        return str(format_decimal(amount, locale=locale))
    try:
        return str(format_currency(amount, currency, locale=locale))
    except UnknownCurrencyError as err:
        raise FilterArgumentError(f"unknown currency {currency!r}", token=None) from err


@with_context
def money(value: object, currency: object = None, *, context: Any) -> str:
    """``{{ order.total | money: order.currency }}`` → ``1 234,50 kr`` for nb, ``NOK 1,234.50`` for en."""
    locale, _ = _reader(context)
    return _format_money(_amount(value), "" if currency is None else str(currency).upper(), locale)


@lru_cache(maxsize=4096)
def format_day(day: date, fmt: str, locale: Locale) -> str:
    return str(format_date(day, format=fmt, locale=locale))


@with_context
def local_date(value: object, fmt: object = "medium", *, context: Any) -> str:
    """The reader's calendar date of an instant: an order placed 23:30 UTC may be 'tomorrow' in Oslo."""
    locale, zone = _reader(context)
    return format_day(parse_instant(value).astimezone(zone).date(), str(fmt), locale)


@with_context
def local_datetime(value: object, fmt: object = "medium", *, context: Any) -> str:
    """Date and time of an instant in the reader's zone and locale."""
    locale, zone = _reader(context)
    return str(format_datetime(parse_instant(value), format=str(fmt), tzinfo=zone, locale=locale))


FILTERS = {"money": money, "local_date": local_date, "local_datetime": local_datetime}
