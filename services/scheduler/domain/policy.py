"""Workspace rules that apply across every flow: consent, suppression, grace delay, quiet hours, caps.

Marketing needs consent: the contact's `*` subscription, the grant of the step's channel (email, SMS,
post; see `shared/consent/channels.py`), and the flow's topic when it has one, must be `subscribed`.
Transactional messages skip the marketing rules (consent, grace, quiet hours, caps); nothing is sent
to an erased contact or by email to a bounced address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.consent.channels import ConsentChannel, channel_refusal

from .contact import ContactView
from .durations import Duration, TimeOfDay, format_duration
from .local_time import as_utc, in_window, next_local_time, zone
from .steps import Category, Channel


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FrequencyCap(_Model):
    """At most `max_messages` marketing messages on a channel per rolling `window`, or, with
    `since_signup`, within the contact's first `window` after signing up."""

    channel: Channel = "email"
    max_messages: int = Field(ge=1)
    window: Duration
    since_signup: bool = False


class QuietHours(_Model):
    """Local hours in which marketing waits; a window may wrap midnight (21:00–08:00)."""

    start: TimeOfDay
    end: TimeOfDay
    channels: tuple[Channel, ...] = ("email", "sms")


class WorkspacePolicy(_Model):
    time_zone: str = Field(default="UTC", description="For contacts whose own time zone is unknown")
    caps: tuple[FrequencyCap, ...] = ()
    quiet_hours: QuietHours | None = None
    grace_after_signup: Duration = Field(
        default=timedelta(minutes=10),
        json_schema_extra={"default": "10m"},  # as written, not pydantic's ISO form (PT10M) the pattern refuses
        description="Marketing waits this long after a sign-up (room to undo a mistaken form); 0s for none",
    )
    audience_hours: dict[int, int] = Field(
        default_factory=dict,
        description="People's opens and clicks per UTC hour of the week (0 = Monday 00:00): the fallback of "
        "`at: best_time`. Filled in from analytics when empty.",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SentMessage:
    """One entry of the send ledger: a message already requested for this contact, by any flow.

    A plain dataclass: made twice per message sent and per ledger row read, from values already typed."""

    at: datetime
    channel: Channel
    category: Category
    flow_id: str | None = None


class PolicyVerdict(_Model):
    outcome: Literal["send", "defer", "suppress"]
    until: datetime | None = None
    reason: str | None = None


SEND = PolicyVerdict(outcome="send")
AWAITING_CONFIRMATION = "awaiting confirmation"
_MAX_ROUNDS = 16


def _scope_consent(contact: ContactView, scope: str) -> str | None:
    subscriptions = contact.subscriptions
    if subscriptions is None:
        return None
    what = "marketing" if scope == "*" else scope
    match subscriptions.get(scope):
        case "subscribed":
            return None
        case "pending":
            return AWAITING_CONFIRMATION
        case "unsubscribed":
            return "contact unsubscribed" if scope == "*" else f"contact unsubscribed from {scope}"
        case "expired":
            return f"confirmation for {what} expired"
        case _:
            return f"no consent to {what}"


# The consent each sending channel needs; a webhook goes to a system, not to the person.
CONSENT_OF: dict[Channel, ConsentChannel] = {"email": "email", "sms": "sms"}


def marketing_consent(contact: ContactView, topic: str | None, channel: ConsentChannel | None = None) -> str | None:
    """Why marketing on `topic` (None: the flow has no topic) may not go to the contact, or None.

    With `channel`, that channel's grant is judged too (after `*` and before the topic)."""
    if contact.status == "unsubscribed":
        return "contact unsubscribed"
    if topic and topic in contact.unsubscribed_topics:
        return f"contact unsubscribed from {topic}"
    missing = _scope_consent(contact, "*")
    if missing is None and channel is not None and contact.subscriptions is not None:
        missing = channel_refusal(contact.subscriptions, channel)
    if missing is None and topic:
        missing = _scope_consent(contact, topic)
    return missing


def suppression(
    contact: ContactView, channel: Channel | None, category: Category, topic: str | None = None
) -> str | None:
    """Why nothing may be sent at all, or None. `channel` None: judge the flow, not a step's channel."""
    if contact.status == "erased":
        return "contact erased"
    if contact.status == "bounced" and channel == "email":
        return "email address bounced"
    if category == "marketing":
        return marketing_consent(contact, topic, CONSENT_OF.get(channel) if channel else None)
    return None


def _cap_allows_at(cap: FrequencyCap, sends: Sequence[datetime], at: datetime, signup: datetime | None) -> datetime:
    """The earliest instant ≥ `at` when one more message fits under the cap."""
    if cap.since_signup:
        if signup is None or at >= signup + cap.window:
            return at
        used = [s for s in sends if signup <= s < signup + cap.window]
        return signup + cap.window if len(used) >= cap.max_messages else at
    recent = sorted(s for s in sends if at - cap.window < s <= at)
    if len(recent) < cap.max_messages:
        return at
    return recent[-cap.max_messages] + cap.window


def judge_send(
    policy: WorkspacePolicy,
    contact: ContactView,
    ledger: Sequence[SentMessage],
    channel: Channel,
    category: Category,
    now: datetime,
    topic: str | None = None,
) -> PolicyVerdict:
    """Decide whether a message may go now, must wait until a later instant, or must not go."""
    blocked = suppression(contact, channel, category, topic)
    if blocked:
        return PolicyVerdict(outcome="suppress", reason=blocked)
    if category == "transactional":
        return SEND
    now = as_utc(now)
    signup = as_utc(contact.signed_up_at) if contact.signed_up_at else None
    sends = [as_utc(m.at) for m in ledger if m.channel == channel and m.category == "marketing"]
    tz = zone(contact.time_zone, policy.time_zone)
    at, reasons = now, []
    for _ in range(_MAX_ROUNDS):
        moved = at
        if signup and policy.grace_after_signup and at < signup + policy.grace_after_signup:
            at = signup + policy.grace_after_signup
            reasons.append(f"grace delay of {format_duration(policy.grace_after_signup)} after sign-up")
        quiet = policy.quiet_hours
        if quiet and channel in quiet.channels and in_window(at, quiet.start, quiet.end, tz):
            at = next_local_time(at, quiet.end, tz)
            reasons.append(f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M}")
        for cap in policy.caps:
            if cap.channel == channel:
                allowed = _cap_allows_at(cap, sends, at, signup)
                if allowed > at:
                    at = allowed
                    scope = "in the first " if cap.since_signup else "per "
                    reasons.append(f"frequency cap {cap.max_messages} {channel} {scope}{format_duration(cap.window)}")
        if at == moved:
            break
    if at == now:
        return SEND
    return PolicyVerdict(outcome="defer", until=at, reason="; ".join(dict.fromkeys(reasons)))
