"""What the reports answer (JSON on `/v1/reports/...`, tables in `dripline report`, the dashboard)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class Counts(BaseModel):
    """Unique per message: a message opened five times counts one open. Click rates are over `delivered`;
    open rates over the delivered that carried the open pixel (`opens_unknown` did not)."""

    entered: int = 0
    reached: int = 0
    requested: int = 0
    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    failed: int = 0
    suppressed: int = 0
    opened: int = 0
    clicked: int = 0
    machine_opened: int = 0
    machine_clicked: int = 0
    unsubscribed: int = 0
    goal_reached: int = 0
    exited: int = 0
    opens_unknown: int = Field(
        default=0, description="Delivered without the open pixel (tracking off, or too short to carry one)"
    )

    @property
    def open_rate(self) -> float:
        trackable = self.delivered - self.opens_unknown
        return self.opened / trackable if trackable > 0 else 0.0

    @property
    def click_rate(self) -> float:
        return self.clicked / self.delivered if self.delivered else 0.0


class Revenue(BaseModel):
    currency: str
    orders: int
    revenue: Decimal


class FlowSummary(BaseModel):
    flow_id: str
    counts: Counts
    open_rate: float
    click_rate: float
    conversion_rate: float = Field(description="goal_reached / entered")
    revenue: list[Revenue]


class StepRow(BaseModel):
    step_id: str
    counts: Counts
    open_rate: float
    click_rate: float
    revenue: list[Revenue]


class DayRow(BaseModel):
    day: date
    delivered: int
    opened: int
    clicked: int
    open_rate: float
    click_rate: float
    opens_unknown: int = 0


class LinkRow(BaseModel):
    step_id: str
    url: str
    clicks: int


class FlowReport(BaseModel):
    flow_id: str
    summary: FlowSummary
    steps: list[StepRow] = Field(description="The funnel, in the order of the flow's current version")
    days: list[DayRow] = Field(description="Per day the messages were requested (send cohorts)")
    links: list[LinkRow]


class VariantRow(BaseModel):
    variant: str
    entered: int = Field(description="Contacts who took this variant at the split")
    delivered: int
    opened: int
    clicked: int
    goal_reached: int
    rate: float = Field(description="The compared metric's rate")
    low: float
    high: float
    probability_best: float
    revenue: list[Revenue]


class Winner(BaseModel):
    step_id: str
    variant: str
    metric: str
    confidence: float
    decided_at: datetime


class AbReport(BaseModel):
    flow_id: str
    split_step: str | None
    metric: str = Field(description="opened | clicked (over delivered) or converted (goal over entered)")
    confidence: float
    test: str
    p_value: float | None
    significant: bool
    better: str | None = Field(description="The better variant, when the difference is significant")
    variants: list[VariantRow]
    winner: Winner | None = Field(description="The winner declared for new entrants, if any")


class CohortRow(BaseModel):
    flow_id: str
    week: date = Field(description="Monday of the week contacts entered the flow")
    contacts: int
    signed_up: int
    purchasers: int = Field(description="Contacts who bought after signing up")
    median_hours_to_purchase: float | None
    reached_value: int = Field(description="Contacts who did the value event after signing up")
    median_hours_to_value: float | None


class CohortReport(BaseModel):
    value_event: str
    cohorts: list[CohortRow]
