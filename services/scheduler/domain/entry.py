"""Whether a contact should enter a flow now, and when a date trigger next comes due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time

from pydantic import BaseModel, ConfigDict

from .contact import ENROLL_REQUESTED, SEGMENT_ENTERED, ContactView, Event
from .expressions import holds, scope
from .flow import Flow
from .local_time import as_utc, local_date, localize, parse_moment, shift_years, zone
from .policy import AWAITING_CONFIRMATION, suppression
from .triggers import ApiTrigger, DateTrigger, EventTrigger, SegmentTrigger


class PastEnrollment(BaseModel):
    """What entry rules need to know about a contact's earlier enrollments in this flow."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entered_at: datetime
    active: bool = False


class EntryDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enter: bool
    reason: str
    number: int = 0  # the enrollment number to pass to `engine.start` when entering
    # Would enter but for a double opt-in still waiting: the caller keeps the trigger until confirmation.
    hold: bool = False
    # Kept out by consent or a suppression (not by the flow's own entry rules): worth recording with its reason.
    refused: bool = False


def triggered_by(flow: Flow, event: Event, contact: ContactView, now: datetime) -> bool:
    """Whether an event fires one of the flow's event, segment or API triggers."""
    for trigger in flow.triggers:
        match trigger:
            case EventTrigger(event=wanted, where=where) if wanted == event.type:
                if event.machine:
                    continue  # a privacy proxy's open or a link scanner's click is no one doing anything
                if where is None or holds(where, scope(contact, event, now)):
                    return True
            case SegmentTrigger(segment=segment) if event.type == SEGMENT_ENTERED:
                if event.data.get("segment") == segment:
                    return True
            case ApiTrigger() if event.type == ENROLL_REQUESTED:
                if event.data.get("flow_id") in (None, flow.id):
                    return True
    return False


def decide_entry(
    flow: Flow,
    contact: ContactView,
    now: datetime,
    past: Sequence[PastEnrollment],
    event: Event | None = None,
) -> EntryDecision:
    """Honour entry rules and the audience filter. `event` is the trigger event; None means a date
    trigger came due (the caller scheduled it with `next_date_entry`)."""
    now = as_utc(now)
    if event is not None and not triggered_by(flow, event, contact, now):
        return EntryDecision(enter=False, reason="no trigger matches this event")
    blocked = suppression(contact, None, flow.category, flow.topic)
    if blocked and blocked not in ("email address bounced", AWAITING_CONFIRMATION):
        return EntryDecision(enter=False, reason=blocked, refused=True)
    if any(p.active for p in past):
        return EntryDecision(enter=False, reason="already in this flow")
    rule = flow.entry
    if past and rule.frequency == "once":
        return EntryDecision(enter=False, reason="entered before; this flow admits a contact once")
    if past and rule.frequency == "once_per_period" and rule.period is not None:
        latest = max(as_utc(p.entered_at) for p in past)
        if now - latest < rule.period:
            return EntryDecision(enter=False, reason=f"entered on {latest:%Y-%m-%d}; once per period")
    if rule.audience is not None and not holds(rule.audience, scope(contact, event, now)):
        return EntryDecision(enter=False, reason="not in the audience")
    if blocked == AWAITING_CONFIRMATION:
        return EntryDecision(enter=False, reason=blocked, hold=True)
    return EntryDecision(enter=True, reason="entered", number=len(past) + 1)


def _date_instant(
    trigger: DateTrigger, value: date | datetime, year_shift: int, fallback_zone: str, contact: ContactView
) -> datetime:
    tz = zone(contact.time_zone, fallback_zone)
    if isinstance(value, datetime):
        moment = value + trigger.offset
        if year_shift:
            day = shift_years(moment.date(), year_shift)  # 29 February falls back to the 28th
            moment = moment.replace(year=day.year, month=day.month, day=day.day)
        return moment if trigger.at is None else localize(local_date(moment, tz), trigger.at, tz)
    day = shift_years(value, year_shift) + trigger.offset
    return localize(day, trigger.at or time(0), tz)


def next_date_entry(flow: Flow, contact: ContactView, after: datetime, fallback_zone: str = "UTC") -> datetime | None:
    """The first instant strictly after `after` when a date trigger of this flow fires for this contact.

    Yearly triggers (birthdays) roll to the next year; one-off ones (a webinar date) return None once past.
    """
    after = as_utc(after)
    found: list[datetime] = []
    for trigger in flow.triggers:
        if not isinstance(trigger, DateTrigger):
            continue
        tz = zone(contact.time_zone, fallback_zone)
        value = parse_moment(contact.attributes.get(trigger.attribute), tz)
        if value is None:
            continue
        if not trigger.yearly:
            instant = _date_instant(trigger, value, 0, fallback_zone, contact)
            found += [instant] if instant > after else []
            continue
        base_year = value.year
        for year in range(local_date(after, tz).year - 1, local_date(after, tz).year + 2):
            instant = _date_instant(trigger, value, year - base_year, fallback_zone, contact)
            if instant > after:
                found.append(instant)
                break
    return min(found) if found else None
