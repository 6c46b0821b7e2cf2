"""How contacts get into a flow: triggers, entry rules and the audience filter."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .durations import Duration, TimeOfDay

Expression = Annotated[str, Field(min_length=1, max_length=2000, description="A CEL expression")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


PropertyNames = Annotated[
    tuple[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], ...],
    Field(
        description=(
            "Free-form properties this event always carries (e.g. join_url): templates and payloads may use "
            "them as event.<name>. The event type's own fields (a cart's items and cart_url) need no listing."
        ),
    ),
]


class EventTrigger(_Model):
    """Enter when the contact does something, e.g. `signup` where `event.source == "webinar-form"`."""

    type: Literal["event"] = "event"
    event: str = Field(min_length=1)
    where: Expression | None = None
    properties: PropertyNames = ()


class SegmentTrigger(_Model):
    """Enter when the contact joins a segment."""

    type: Literal["segment_entered"] = "segment_entered"
    segment: str = Field(min_length=1)


class DateTrigger(_Model):
    """Enter relative to a date attribute: a birthday each year, or 7 days before `webinar_at`."""

    type: Literal["date"] = "date"
    attribute: str = Field(min_length=1)
    offset: Duration = timedelta(0)
    at: TimeOfDay | None = Field(default=None, description="Local time of day; keeps the attribute's time if absent")
    yearly: bool = False


class ApiTrigger(_Model):
    """Enter when an integration asks for it through the API."""

    type: Literal["api"] = "api"
    properties: PropertyNames = ()


Trigger = Annotated[EventTrigger | SegmentTrigger | DateTrigger | ApiTrigger, Field(discriminator="type")]


class EntryRule(_Model):
    """How often one contact may enter: once ever, at most once per period, or every time.

    A contact is never in two live enrollments of the same flow, whatever the rule.
    """

    frequency: Literal["once", "once_per_period", "every_time"] = "once"
    period: Duration | None = None
    audience: Expression | None = Field(default=None, description="Who may enter; CEL over contact and history")

    @model_validator(mode="after")
    def _period_matches_frequency(self) -> EntryRule:
        if self.frequency == "once_per_period" and self.period is None:
            raise ValueError("once_per_period needs a period, e.g. period: 30d")
        return self
