"""What a lifecycle flow did for purchases: repeat buying by entry week, time to a second purchase,
customers won back, and discount codes issued and redeemed. Orders come from the customer facts'
order rows (kept beyond the history window), entries from the flow's analytics."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class RepeatCohort(BaseModel):
    week: date = Field(description="Monday of the week contacts entered the flow")
    contacts: int
    buyers: int = Field(description="Contacts with at least one order")
    repeat_buyers: int = Field(description="Contacts with at least two orders")
    repeat_rate: float = Field(description="repeat_buyers / buyers (0 without buyers)")
    median_hours_to_second_purchase: float | None = Field(description="From first to second order, over repeat buyers")


class Reactivation(BaseModel):
    """Who entered as a customer (an order before entering) and bought again after entering: what a win-back
    flow is for."""

    entered: int
    customers_at_entry: int = Field(description="Entrants with an order before they entered")
    reactivated: int = Field(description="Of those, who ordered again after entering")
    reactivated_share: float = Field(description="reactivated / customers_at_entry (0 without customers)")


class CodeCount(BaseModel):
    step_id: str
    issued: int
    redeemed: int


class LifecycleReport(BaseModel):
    flow_id: str
    median_hours_to_second_purchase: float | None = Field(description="Over every repeat buyer among the entrants")
    repeat_rate: float = Field(description="Entrants with two orders or more, of entrants with one or more")
    cohorts: list[RepeatCohort]
    reactivation: Reactivation
    codes: list[CodeCount] = Field(description="Discount codes of the flow's steps: issued, and redeemed by purchases")


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
