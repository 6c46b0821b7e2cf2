"""Folding events into customer facts: a purchase counts once (the service folds it only when its order
row is new); the "last" facts keep the later instant, so order and replays do not matter."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from .contact import MESSAGE_CLICKED, MESSAGE_OPENED, Event
from .facts import CustomerFacts, Spend, latest

# Events that are not a visit of the person: the platform's own, and what mail proxies do.
_NOT_SEEN = frozenset({MESSAGE_OPENED, "unsubscribed"})
_NOT_SEEN_PREFIXES = ("message_", "segment_", "attribute_", "enroll_", "contact_", "preferences_")


class Purchase(BaseModel):
    """A purchase as the facts see it."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    at: datetime
    currency: str
    revenue: Decimal
    products: tuple[dict[str, Any], ...] = ()


def _earliest(*instants: datetime | None) -> datetime | None:
    present = [at for at in instants if at is not None]
    return min(present) if present else None


def purchase_of(event: Event) -> Purchase | None:
    """The purchase an event records, if it is one with an amount and currency."""
    if event.type != "purchase" or event.data.get("currency") is None or event.data.get("revenue") is None:
        return None
    products = tuple(
        {key: item[key] for key in ("product_id", "name", "quantity", "price") if item.get(key) is not None}
        for item in event.data.get("items") or ()
        if isinstance(item, dict)
    )
    return Purchase(
        event_id=event.id,
        at=event.at,
        currency=str(event.data["currency"]),
        revenue=Decimal(str(event.data["revenue"])),
        products=products,
    )


def is_visit(event: Event) -> bool:
    """A shop event or a human click: the person was there."""
    if event.machine:
        return False
    if event.type == MESSAGE_CLICKED:
        return True
    return event.type not in _NOT_SEEN and not event.type.startswith(_NOT_SEEN_PREFIXES)


def fold(facts: CustomerFacts, events: Iterable[Event], new_orders: Iterable[Purchase]) -> CustomerFacts:
    """The facts after these events; `new_orders` are the purchases counted for the first time
    (a replayed purchase is not among them, so it changes nothing)."""
    update: dict[str, Any] = {}
    events = list(events)
    clicks = [e.at for e in events if not e.machine and e.type == MESSAGE_CLICKED]
    opens = [e.at for e in events if not e.machine and e.type == MESSAGE_OPENED]
    visits = [e.at for e in events if is_visit(e)]
    update["last_open_at"] = latest(facts.last_open_at, *opens)
    update["last_click_at"] = latest(facts.last_click_at, *clicks)
    update["last_seen_at"] = latest(facts.last_seen_at, *visits)
    spent = dict(facts.spent)
    last_at, products = facts.last_purchase_at, facts.last_order_products
    count, first_at = facts.order_count, facts.first_purchase_at
    for order in new_orders:
        before = spent.get(order.currency, Spend())
        spent[order.currency] = Spend(total=before.total + order.revenue, orders=before.orders + 1)
        count += 1
        first_at = _earliest(first_at, order.at)
        if last_at is None or order.at >= last_at:
            last_at, products = order.at, order.products
    update.update(
        spent=spent,
        order_count=count,
        first_purchase_at=first_at,
        last_purchase_at=last_at,
        last_order_products=products,
    )
    return facts.model_copy(update=update)
