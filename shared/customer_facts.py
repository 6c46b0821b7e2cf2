"""Customer facts: what a contact's events add up to (orders, spend, last open, click and visit).

Kept beyond the history window, so "no purchase in 120 days" stays answerable after the purchase's
event has aged out. Conditions, segments and templates read them as `contact.facts.<name>`. Folding
is pure and order-free for the "last" facts (the later instant wins); a purchase counts once because
the service folds it only when its order row is new.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Engagement by the last human open or click: within 30 days engaged, within 90 cooling, else unengaged.
ENGAGED_WITHIN = timedelta(days=30)
COOLING_WITHIN = timedelta(days=90)
MESSAGES_WINDOW = timedelta(days=30)
Engagement = Literal["engaged", "cooling", "unengaged"]
# The names `contact.facts.<name>` offers, for publish-time checks of conditions and templates.
FACT_NAMES = (
    "first_purchase_at",
    "last_purchase_at",
    "order_count",
    "total_spent",
    "average_order_value",
    "last_order_products",
    "last_open_at",
    "last_click_at",
    "last_seen_at",
    "messages_last_30d",
    "engagement",
)


class Spend(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    total: Decimal = Decimal(0)
    orders: int = 0


class CustomerFacts(BaseModel):
    """The stored facts of one contact; `recent_messages` are the send times of the last 30 days."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    order_count: int = 0
    spent: dict[str, Spend] = Field(default_factory=dict)
    last_order_products: tuple[dict[str, Any], ...] = ()
    last_open_at: datetime | None = None
    last_click_at: datetime | None = None
    last_seen_at: datetime | None = None
    recent_messages: tuple[datetime, ...] = ()

    def engagement(self, now: datetime) -> Engagement:
        last = latest(self.last_open_at, self.last_click_at)
        if last is not None and now - last <= ENGAGED_WITHIN:
            return "engaged"
        if last is not None and now - last <= COOLING_WITHIN:
            return "cooling"
        return "unengaged"

    def value(self, now: datetime) -> dict[str, Any]:
        """`contact.facts` as conditions and templates read it: instants that never happened are absent
        (so a comparison with one is false, not an error that means true)."""
        found: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("first_purchase_at", "last_purchase_at", "last_open_at", "last_click_at", "last_seen_at")
            if getattr(self, name) is not None
        }
        found.update(
            order_count=self.order_count,
            total_spent={currency: float(spend.total) for currency, spend in self.spent.items()},
            average_order_value={
                currency: round(float(spend.total) / spend.orders, 2) for currency, spend in self.spent.items()
            },
            last_order_products=[dict(product) for product in self.last_order_products],
            messages_last_30d=sum(1 for at in self.recent_messages if now - at <= MESSAGES_WINDOW),
            engagement=self.engagement(now),
        )
        return found


def latest(*instants: datetime | None) -> datetime | None:
    present = [at for at in instants if at is not None]
    return max(present) if present else None
