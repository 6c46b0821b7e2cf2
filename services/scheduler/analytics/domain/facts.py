"""What became of one message, folded from whichever topic tells first, and the counters it adds.

Counters are a pure function of a message's facts, so the fold only ever adds the difference between
a message's counters after and before a record: a record seen twice, or records arriving out of
order, cannot count twice. A message counts only once its request was seen (that is what says
which flow version and variant it belongs to) and only if it came from a flow.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime

from shared.contract import Engagement, MessageRequested, MessageStatus

MESSAGE_COUNTERS = (
    "requested",
    "sent",
    "delivered",
    "bounced",
    "failed",
    "suppressed",
    "opened",
    "clicked",
    "machine_opened",
    "machine_clicked",
    "unsubscribed",
    "opens_unknown",  # delivered without the open pixel: whether it was opened cannot be known
)


@dataclass(frozen=True)
class MessageFacts:
    workspace_id: str
    message_id: str
    contact_id: str
    flow_id: str | None = None
    flow_version: int | None = None
    step_id: str | None = None
    variant: str | None = None
    channel: str | None = None
    requested_at: datetime | None = None
    sent_at: datetime | None = None
    bounced_at: datetime | None = None
    failed_at: datetime | None = None
    suppressed_at: datetime | None = None
    opened_at: datetime | None = None
    clicked_at: datetime | None = None
    machine_opened_at: datetime | None = None
    machine_clicked_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    opens: int = 0
    clicks: int = 0
    machine_opens: int = 0
    machine_clicks: int = 0
    last_opened_at: datetime | None = None
    last_clicked_at: datetime | None = None
    untracked_sent_at: datetime | None = None  # sent without the open pixel

    @property
    def counted(self) -> bool:
        return self.requested_at is not None and self.flow_id is not None and self.flow_version is not None

    @property
    def day(self) -> date | None:
        """Every counter of a message lands on the day it was requested: rates per day are send cohorts."""
        return self.requested_at.date() if self.requested_at is not None else None


def _earliest(current: datetime | None, seen: datetime) -> datetime:
    return seen if current is None or seen < current else current


def _latest(current: datetime | None, seen: datetime) -> datetime:
    return seen if current is None or seen > current else current


def fold_request(facts: MessageFacts, record: MessageRequested) -> MessageFacts:
    variant = record.variables.get("variant")
    return replace(
        facts,
        flow_id=record.flow_id,
        flow_version=record.flow_version,
        step_id=record.step_id,
        variant=str(variant) if variant is not None else None,
        channel=record.channel,
        requested_at=_earliest(facts.requested_at, record.occurred_at),
    )


def fold_status(facts: MessageFacts, record: MessageStatus) -> MessageFacts:
    at = record.occurred_at
    match record.status:
        case "sent" if record.opens_tracked is False:
            return replace(
                facts, sent_at=_earliest(facts.sent_at, at), untracked_sent_at=_earliest(facts.untracked_sent_at, at)
            )
        case "sent":
            return replace(facts, sent_at=_earliest(facts.sent_at, at))
        case "bounced":
            return replace(facts, bounced_at=_earliest(facts.bounced_at, at))
        case "failed":
            return replace(facts, failed_at=_earliest(facts.failed_at, at))
        case "suppressed":
            return replace(facts, suppressed_at=_earliest(facts.suppressed_at, at))
    return facts  # deferred: still trying


def fold_engagement(facts: MessageFacts, record: Engagement) -> MessageFacts:
    at = record.occurred_at
    match record.kind, record.machine:
        case "opened", False:
            return replace(
                facts,
                opened_at=_earliest(facts.opened_at, at),
                last_opened_at=_latest(facts.last_opened_at, at),
                opens=facts.opens + 1,
            )
        case "clicked", False:
            return replace(
                facts,
                clicked_at=_earliest(facts.clicked_at, at),
                last_clicked_at=_latest(facts.last_clicked_at, at),
                clicks=facts.clicks + 1,
            )
        case "opened", True:
            return replace(
                facts, machine_opened_at=_earliest(facts.machine_opened_at, at), machine_opens=facts.machine_opens + 1
            )
        case "clicked", True:
            return replace(
                facts,
                machine_clicked_at=_earliest(facts.machine_clicked_at, at),
                machine_clicks=facts.machine_clicks + 1,
            )
        case "unsubscribed", _:
            return replace(facts, unsubscribed_at=_earliest(facts.unsubscribed_at, at))
    return facts


def counters(facts: MessageFacts) -> Counter[str]:
    """The unique per-message counts this message adds to its flow step (nothing until it counts)."""
    if not facts.counted:
        return Counter()
    flags = {
        "requested": True,
        "sent": facts.sent_at is not None,
        "delivered": facts.sent_at is not None and facts.bounced_at is None,
        "bounced": facts.bounced_at is not None,
        "failed": facts.failed_at is not None,
        "suppressed": facts.suppressed_at is not None,
        "opened": facts.opened_at is not None,
        "clicked": facts.clicked_at is not None,
        "machine_opened": facts.machine_opened_at is not None,
        "machine_clicked": facts.machine_clicked_at is not None,
        "unsubscribed": facts.unsubscribed_at is not None,
        "opens_unknown": facts.untracked_sent_at is not None and facts.bounced_at is None,
    }
    return Counter({name: 1 for name, on in flags.items() if on})


CounterKey = tuple[str, str, int, str, str, date]  # workspace, flow, version, step, variant, day


def key_of(facts: MessageFacts) -> CounterKey | None:
    if not facts.counted or facts.day is None:
        return None
    return (
        facts.workspace_id,
        facts.flow_id or "",
        facts.flow_version or 0,
        facts.step_id or "",
        facts.variant or "",
        facts.day,
    )


def changes(before: MessageFacts, after: MessageFacts) -> dict[CounterKey, Counter[str]]:
    """What to add to the daily counters when a message's facts go from `before` to `after`.

    The key can move too (a status seen before its request counts nowhere, then everywhere at once).
    """
    found: dict[CounterKey, Counter[str]] = {}
    old_key, new_key = key_of(before), key_of(after)
    if old_key is not None:
        found.setdefault(old_key, Counter()).subtract(counters(before))
    if new_key is not None:
        found.setdefault(new_key, Counter()).update(counters(after))
    return {key: Counter({k: v for k, v in delta.items() if v}) for key, delta in found.items() if any(delta.values())}
