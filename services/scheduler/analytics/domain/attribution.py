"""Which message earns a purchase: the last one the buyer clicked within the click window, else the
last one they opened within the (shorter) open window. Human opens and clicks only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.scheduler.domain.durations import Duration
from shared.contract.fields import EventName

TouchKind = Literal["clicked", "opened"]


class AnalyticsSettings(BaseModel):
    """Per workspace, stored in `workspaces.settings -> analytics`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    click_window: Duration = Field(default=timedelta(days=5), description="A purchase this soon after a click counts")
    open_window: Duration = Field(default=timedelta(days=1), description="... or this soon after an open")
    value_event: EventName = Field(default="purchase", description="The event that means 'value' in cohorts")


@dataclass(frozen=True)
class Touch:
    """A message the buyer engaged with: when they last opened and last clicked it."""

    message_id: str
    last_opened_at: datetime | None
    last_clicked_at: datetime | None


@dataclass(frozen=True)
class Credit:
    message_id: str
    touch: TouchKind
    at: datetime


def _last(touches: Sequence[Touch], kind: TouchKind, since: datetime, until: datetime) -> Credit | None:
    found: Credit | None = None
    for touch in touches:
        at = touch.last_clicked_at if kind == "clicked" else touch.last_opened_at
        if at is None or not since <= at <= until:
            continue
        if found is None or (at, touch.message_id) > (found.at, found.message_id):
            found = Credit(touch.message_id, kind, at)
    return found


def attribute(purchased_at: datetime, touches: Sequence[Touch], settings: AnalyticsSettings) -> Credit | None:
    """The message credited with a purchase at `purchased_at`, or None (ties go to the larger id)."""
    clicked = _last(touches, "clicked", purchased_at - settings.click_window, purchased_at)
    if clicked is not None:
        return clicked
    return _last(touches, "opened", purchased_at - settings.open_window, purchased_at)
