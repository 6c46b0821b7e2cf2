"""Liquid filters for shops: money and dates in the reader's locale and time zone, product grids and
lines from an event's items, image URLs.

They read the reader's locale and zone from the reserved ``dripline`` render variable (and the
event's currency from ``event.currency``), so one compiled template serves every contact.
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
from liquid import Undefined
from liquid.exceptions import FilterArgumentError, FilterValueError
from liquid.filter import with_context
from markupsafe import Markup, escape

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


def _given(value: object) -> object | None:
    """The value, or None when it is undefined; printing a missing value raises (see ``liquid_env``)."""
    if isinstance(value, Undefined):
        str(value)  # a missing value names itself here; a lenient one is empty
        return None
    return value


def _event_currency(context: Any) -> str:
    found = context.get(["event", "currency"], token=None, default=None)
    return str(found) if isinstance(found, str) else ""


def _money_in(value: object, currency: object, context: Any) -> str:
    locale, _ = _reader(context)
    if _given(value) is None:
        return ""
    code = _event_currency(context) if currency is None or isinstance(currency, Undefined) else str(currency)
    return _format_money(_amount(value), code.upper(), locale)


@with_context
def money(value: object, currency: object = None, *, context: Any) -> str:
    """``{{ order.total | money: order.currency }}`` → ``1 234,50 kr`` for nb, ``NOK 1,234.50`` for en.

    Without a currency it takes the event's (``{{ event.value | money }}`` for a cart in NOK)."""
    return _money_in(value, currency, context)


@lru_cache(maxsize=4096)
def format_day(day: date, fmt: str, locale: Locale) -> str:
    return str(format_date(day, format=fmt, locale=locale))


@with_context
def local_date(value: object, fmt: object = "medium", *, context: Any) -> str:
    """The reader's calendar date of an instant: an order placed 23:30 UTC may be 'tomorrow' in Oslo."""
    locale, zone = _reader(context)
    if _given(value) is None:
        return ""
    return format_day(parse_instant(value).astimezone(zone).date(), str(fmt), locale)


@with_context
def local_datetime(value: object, fmt: object = "medium", *, context: Any) -> str:
    """Date and time of an instant in the reader's zone and locale."""
    locale, zone = _reader(context)
    if _given(value) is None:
        return ""
    return str(format_datetime(parse_instant(value), format=str(fmt), tzinfo=zone, locale=locale))


def _image(value: object, width: object) -> str:
    """An item's picture (or a URL) as mail clients load it: https, and sized where the shop's CDN takes
    `width` (Shopify, imgix and most others). Empty when there is none; never a broken `src`."""
    found = _given(value)
    url = found.get("image_url") if isinstance(found, dict) else found
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return ""
    url = "https://" + url.removeprefix("http://") if url.startswith("http://") else url
    if width is None or isinstance(width, Undefined):
        return url
    return f"{url}{'&' if '?' in url else '?'}width={int(str(width))}"


def image_url(value: object, width: object = None) -> str:
    """``{{ item | image_url: 240 }}`` or ``{{ item.image_url | image_url }}``."""
    return _image(value, width)


_CELL = "padding:8px;vertical-align:top;text-align:center;font-family:Arial,sans-serif;font-size:14px"


def _item_cell(item: dict[str, Any], currency: str, context: Any, columns: int) -> str:
    picture = _image(item, 240)
    name = escape(str(item.get("name") or item.get("product_id") or ""))
    url = item.get("url")
    link = isinstance(url, str) and url.startswith(("https://", "http://"))
    parts = []
    if picture:
        img = (
            f'<img src="{escape(picture)}" alt="{name}" width="160" style="display:block;margin:0 auto;max-width:100%">'
        )
        parts.append(f'<a href="{escape(url)}">{img}</a>' if link else img)
    parts.append(f'<p style="margin:8px 0 0"><a href="{escape(url)}">{name}</a></p>' if link else f"<p>{name}</p>")
    quantity, price = item.get("quantity"), item.get("price")
    details = [f"{quantity} ×"] if isinstance(quantity, int) and quantity > 1 else []
    if price is not None:
        details.append(escape(_money_in(price, currency or None, context)))
    if details:
        parts.append(f'<p style="margin:4px 0 0;color:#555555">{" ".join(details)}</p>')
    return f'<td width="{100 // columns}%" style="{_CELL}">{"".join(parts)}</td>'


@with_context
def product_grid(items: object, columns: object = 2, *, context: Any) -> Markup:
    """``{{ event.items | product_grid }}``: the items as a table of pictures, linked names, quantities and
    prices in the event's currency, with inline styles only, so it works in HTML and inside MJML's
    ``<mj-text>`` alike. Empty when there are no items."""
    given = _given(items)
    rows = [item for item in given if isinstance(item, dict)] if isinstance(given, list) else []
    if not rows:
        return Markup("")
    per_row = max(1, min(4, int(str(columns))))
    currency = _event_currency(context)
    cells = [_item_cell(item, currency, context, per_row) for item in rows]
    lines = ["".join(cells[n : n + per_row]) for n in range(0, len(cells), per_row)]
    body = "".join(f"<tr>{line}</tr>" for line in lines)
    table = '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse">'
    return Markup(f"{table}{body}</table>")


@with_context
def product_lines(items: object, *, context: Any) -> str:
    """``{{ event.items | product_lines }}`` for text parts and SMS: one line per item with its price and
    link (``- Trail shoe, 2 × 1 299,00 kr: https://…``)."""
    given = _given(items)
    rows = [item for item in given if isinstance(item, dict)] if isinstance(given, list) else []
    currency = _event_currency(context)
    lines = []
    for item in rows:
        line = f"- {item.get('name') or item.get('product_id') or ''}"
        quantity, price = item.get("quantity"), item.get("price")
        if price is not None:
            amount = _money_in(price, currency or None, context)
            line += f", {quantity} × {amount}" if isinstance(quantity, int) and quantity > 1 else f", {amount}"
        if isinstance(item.get("url"), str):
            line += f": {item['url']}"
        lines.append(line)
    return "\n".join(lines)


FILTERS = {
    "money": money,
    "local_date": local_date,
    "local_datetime": local_datetime,
    "image_url": image_url,
    "product_grid": product_grid,
    "product_lines": product_lines,
}
