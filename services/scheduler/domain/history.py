"""History helpers conditions may call, computed from the contact's recent events.

They are registered as CEL functions (`history.count("cart_abandoned", "30d")`) whose closures
see only this snapshot and return plain values, so an expression can never reach Python objects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .contact import MESSAGE_CLICKED, MESSAGE_OPENED, Event
from .durations import parse_duration
from .local_time import as_utc


def _window(events: Sequence[Event], event_type: str, window: str, now: datetime) -> list[Event]:
    since = as_utc(now) - parse_duration(window)
    return [e for e in events if e.type == event_type and since <= as_utc(e.at) <= as_utc(now)]


def _product_ids(event: Event) -> set[str]:
    """Products of a cart-like event; accepts ids or objects with `id`/`sku`."""
    found: set[str] = set()
    for item in event.data.get("products", []) or []:
        if isinstance(item, dict):
            key = item.get("id", item.get("sku"))
            if key is not None:
                found.add(str(key))
        elif isinstance(item, str | int):
            found.add(str(item))
    return found


def count(events: Sequence[Event], event_type: str, window: str, now: datetime) -> int:
    return len(_window(events, event_type, window, now))


def repeated_products(events: Sequence[Event], event_type: str, window: str, now: datetime) -> list[str]:
    """Products that appear in more than one such event within the window (sorted)."""
    tally = Counter(p for e in _window(events, event_type, window, now) for p in _product_ids(e))
    return sorted(p for p, n in tally.items() if n > 1)


def days_since(events: Sequence[Event], event_type: str, now: datetime) -> int:
    """Whole days since the latest such event; -1 when there never was one."""
    times = [as_utc(e.at) for e in events if e.type == event_type and as_utc(e.at) <= as_utc(now)]
    return (as_utc(now) - max(times)).days if times else -1


def engaged(events: Sequence[Event], event_type: str, message: str | None) -> bool:
    """Whether a person (not a privacy proxy or link scanner) opened or clicked this message."""
    return message is not None and any(
        e.type == event_type and e.message_id == message and not e.machine for e in events
    )


def functions(
    events: Sequence[Event], now: datetime, messages: Mapping[str, str] | None = None
) -> dict[str, Callable[..., Any]]:
    """The `history.*` functions bound to one snapshot, one `now` and the enrollment's sent messages."""
    frozen = tuple(events)
    sent = dict(messages or {})
    return {
        "history.opened": lambda step: engaged(frozen, MESSAGE_OPENED, sent.get(str(step))),
        "history.clicked": lambda step: engaged(frozen, MESSAGE_CLICKED, sent.get(str(step))),
        "history.count": lambda event_type, window: count(frozen, str(event_type), str(window), now),
        "history.repeated_products": lambda event_type, window: repeated_products(
            frozen, str(event_type), str(window), now
        ),
        "history.days_since": lambda event_type: days_since(frozen, str(event_type), now),
    }


FUNCTION_NAMES = ("count", "repeated_products", "days_since", "opened", "clicked")
