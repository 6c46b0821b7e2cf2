"""Segment membership changes, for analysts: who entered or left which segment, and why (no personal fields)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contract.envelope import Envelope


class SegmentChange(Envelope):
    """A contact entered or left a segment. `occurred_at` is when the scheduler judged it."""

    segment_id: str
    change: Literal["entered", "left"]
    cause: Literal["event", "time", "backfill"] = Field(
        description="What made it judge: a record about the contact, the clock passing a threshold "
        "(the segment's condition names `now`), or the backfill of a new or changed segment."
    )
