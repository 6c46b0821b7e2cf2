"""What a broadcast's report answers (JSON on `/v1/reports/broadcasts/{id}`, `dripline report broadcast`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.scheduler.analytics.domain.report_models import Counts, Revenue


class BroadcastVariantRow(BaseModel):
    variant: str = Field(description="The template these recipients got")
    counts: Counts
    open_rate: float
    click_rate: float
    revenue: list[Revenue]


class BroadcastLinkRow(BaseModel):
    url: str
    clicks: int = Field(description="Clicks by people (not link scanners)")
    clickers: int = Field(description="Contacts who clicked it")


class BroadcastReport(BaseModel):
    broadcast_id: str
    name: str
    state: str
    frozen_at: datetime | None
    finished_at: datetime | None
    counts: Counts = Field(
        description="Unique per message: requested, sent, delivered (accepted, not bounced), bounced, opened and "
        "clicked by people, machine opens and clicks apart, unsubscribed"
    )
    open_rate: float
    click_rate: float
    unsubscribe_rate: float
    orders: int = Field(description="Purchases credited to the broadcast (converted)")
    revenue: list[Revenue]
    variants: list[BroadcastVariantRow]
    winner: str | None = Field(description="Test then send: the template the rest got")
    decision: dict[str, Any] | None = Field(description="Test then send: the evidence the winner was picked on")
    links: list[BroadcastLinkRow]


def variant_row(variant: str, counts: Counts, revenue: list[Revenue]) -> BroadcastVariantRow:
    return BroadcastVariantRow(
        variant=variant, counts=counts, open_rate=counts.open_rate, click_rate=counts.click_rate, revenue=revenue
    )


def total_of(rows: list[BroadcastVariantRow]) -> tuple[Counts, list[Revenue]]:
    """The variants' counts and revenue (per currency) added up."""
    fields = Counts.model_fields
    counts = Counts(**{name: sum(getattr(row.counts, name) for row in rows) for name in fields})
    money: dict[str, Revenue] = {}
    for revenue in (r for row in rows for r in row.revenue):
        seen = money.get(revenue.currency)
        money[revenue.currency] = (
            revenue
            if seen is None
            else Revenue(
                currency=seen.currency, orders=seen.orders + revenue.orders, revenue=seen.revenue + revenue.revenue
            )
        )
    return counts, [money[currency] for currency in sorted(money)]
