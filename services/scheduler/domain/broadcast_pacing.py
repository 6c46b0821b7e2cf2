"""How fast a broadcast goes, what the rules say of each recipient, and how far along it is.

The throttle is a token bucket: `per_hour / 3600` tokens a second, holding at most a minute's worth, so a
paused or idle send does not burst past its rate when it goes on. Each recipient is judged by the same
policy as a flow's message (consent, suppression, quiet hours, caps); a workspace may let broadcasts pass
the frequency caps (they still count toward them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .best_time import best_send_time
from .broadcasts import Broadcast
from .contact import ContactView
from .local_time import as_utc
from .policy import PolicyVerdict, SentMessage, WorkspacePolicy, judge_send

BURST_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Allowance:
    """How many recipients this round may take, and the bucket before they are spent."""

    count: int
    tokens: float


def allowance(per_hour: int | None, tokens: float, paced_at: datetime | None, now: datetime, batch: int) -> Allowance:
    """Tokens earned since `paced_at` (none before the first round: it starts with a minute's worth)."""
    if per_hour is None:
        return Allowance(batch, 0.0)
    rate = per_hour / 3600.0
    burst = max(1.0, rate * BURST_SECONDS)
    earned = burst if paced_at is None else tokens + max(0.0, (as_utc(now) - as_utc(paced_at)).total_seconds()) * rate
    held = min(burst, earned)
    return Allowance(min(batch, int(held)), held)


def domain_room(
    per_hour: int, domains: Iterable[str], last_hour: Mapping[str, int], last_minute: Mapping[str, int]
) -> dict[str, int]:
    """How many more messages each receiving domain may take now: what is left of its hour, and at most a
    sixtieth of the hour's worth (rounded up) a minute, so a domain's share is spread over the hour rather
    than sent at its start."""
    per_minute = max(1, -(-per_hour // 60))
    return {
        domain: max(0, min(per_hour - last_hour.get(domain, 0), per_minute - last_minute.get(domain, 0)))
        for domain in domains
    }


def domain_throttled(domain: str) -> str:
    """The reason a recipient waits for their receiving domain's throttle (shown in the progress)."""
    return f"receiving domain throttle ({domain})"


def judge_recipient(
    broadcast: Broadcast,
    policy: WorkspacePolicy,
    contact: ContactView,
    ledger: Sequence[SentMessage],
    now: datetime,
    *,
    may_exceed_caps: bool,
) -> PolicyVerdict:
    """Send, defer (quiet hours, caps, grace) or suppress (consent, suppression), as for a flow's message."""
    rules = policy.model_copy(update={"caps": ()}) if may_exceed_caps else policy
    return judge_send(rules, contact, ledger, broadcast.channel, broadcast.category, now, broadcast.topic)


def best_moment(
    contact: ContactView, now: datetime, tz: ZoneInfo, window_end: datetime, audience_hours: Mapping[int, int]
) -> datetime:
    """The contact's best hour from now to the end of their local window (the best_time module's choice)."""
    within = max(timedelta(0), as_utc(window_end) - as_utc(now))
    return best_send_time(contact.history, now, tz, within, audience_hours)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a send stands: recipients resolved, requested (sent on), held with reasons, still waiting."""

    resolved: int
    sent: int
    held: dict[str, int]
    waiting: dict[str, int]  # by reason: "due" for those not yet due, else why they were put off
    remaining: int
    eta: datetime | None


def progress(
    counts: Mapping[tuple[str, str | None], int], last_due: datetime | None, per_hour: int | None, now: datetime
) -> Progress:
    """From recipient counts by (state, reason): what is left and when it should be done. The ETA is the
    later of the last recipient's due time and what the throttle needs for those left."""
    held: dict[str, int] = {}
    waiting: dict[str, int] = {}
    sent = 0
    for (state, reason), count in counts.items():
        if state == "requested":
            sent += count
        elif state == "held":
            held[reason or "held"] = held.get(reason or "held", 0) + count
        else:
            waiting[reason or "due"] = waiting.get(reason or "due", 0) + count
    remaining = sum(waiting.values())
    resolved = sent + remaining + sum(held.values())
    eta: datetime | None = None
    if remaining:
        paced = as_utc(now) + timedelta(hours=remaining / per_hour) if per_hour else as_utc(now)
        eta = max(paced, as_utc(last_due)) if last_due else paced
    return Progress(resolved, sent, held, waiting, remaining, eta)
