"""Segments: saved CEL conditions over a contact's attributes and behaviour, and who is in them.

A segment is judged on the contact alone (`contact.*`, `history.*`, `now`); there is no current
event, so `event` reads as an empty map. Entering or leaving becomes an engine event that segment
triggers, goals and `wait_for` steps react to.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .contact import SEGMENT_ENTERED, SEGMENT_LEFT, ContactView, Event
from .contact_reads import contact_reads
from .expression_limits import MAX_CHARS
from .expressions import compile_expression, holds, scope


class Segment(BaseModel):
    """A saved condition, e.g. `history.count("purchase", "365d") >= 3`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="e.g. repeat-buyers")
    name: str = Field(min_length=1, max_length=200)
    condition: str = Field(min_length=1, max_length=MAX_CHARS, description="A CEL condition, as in flows.")

    @field_validator("condition")
    @classmethod
    def compiles(cls, condition: str) -> str:
        compile_expression(condition)  # ExpressionError is a ValueError: pydantic reports it
        return condition


def members_of(segments: Iterable[Segment], contact: ContactView, now: datetime) -> frozenset[str]:
    """The ids of the segments whose condition holds for the contact now (one that fails counts as false)."""
    segments = list(segments)
    if not segments:
        return frozenset()
    # The history helpers cost more to build than most conditions do to run: only for conditions calling them.
    conditions = tuple(segment.condition for segment in segments)
    context = scope(
        contact, None, now, with_history=any("history." in c for c in conditions), reads=contact_reads(conditions)
    )
    return frozenset(segment.id for segment in segments if holds(segment.condition, context))


def membership_events(before: frozenset[str], after: frozenset[str], now: datetime, cause: str) -> list[Event]:
    """`segment_entered` / `segment_left` events for what changed; ids derive from the cause, so a
    replayed change gives the same ids."""
    left = [(SEGMENT_LEFT, segment) for segment in sorted(before - after)]
    changes = left + [(SEGMENT_ENTERED, segment) for segment in sorted(after - before)]
    return [
        Event(id=f"{cause}:{kind}:{segment}", type=kind, at=now, data={"segment": segment}) for kind, segment in changes
    ]
