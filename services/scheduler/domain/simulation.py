"""Run the real engine on a virtual clock: what would this contact receive, and when?

Used by `dripline flows simulate` and by the example tests. Message opens and clicks in the
input may name the send step (`data.step`) instead of a message id; the id is filled in when
the event is replayed, exactly as the tracker would have done.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .actions import Decision, Notify, RequestMessage, ScheduleTimer, Transition, UpdateContact
from .contact import MESSAGE_DELIVERED, ContactView, Event
from .durations import parse_duration
from .engine import NO_POLICY, EventReceived, TimerFired, advance, start
from .entry import PastEnrollment, decide_entry, next_date_entry
from .expression_cost import DataSizes, cost_problem_on
from .facts_fold import fold, purchase_of
from .flow import Flow
from .local_time import as_utc, zone
from .policy import SentMessage, WorkspacePolicy
from .references import expressions_of
from .state import EnrollmentState
from .steps import SendStep

SubjectRenderer = Callable[[str, ContactView], str]
RowKind = Literal["entered", "message", "held", "skipped", "failed", "notify", "update", "goal", "exit"]
_TRANSITION_ROWS: dict[str, RowKind] = {
    "entered": "entered",
    "held_by_policy": "held",
    "skipped": "skipped",
    "failed": "failed",
    "goal_reached": "goal",
    "exited": "exit",
}


class TimelineRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    step_id: str | None
    what: RowKind
    detail: str
    subject: str | None = None

    def line(self, time_zone: str = "UTC", with_subject: bool = False) -> str:
        """One readable line, e.g. `2025-03-03 09:40 message welcome email welcome-hello (marketing)`."""
        local = self.at.astimezone(zone(time_zone))
        text = f"{local:%Y-%m-%d %H:%M} {self.what:<7} {self.step_id or '-'} {self.detail}".rstrip()
        return f'{text} "{self.subject}"' if with_subject and self.subject else text


class Timeline(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: tuple[TimelineRow, ...]
    contact: ContactView

    def lines(self, time_zone: str = "UTC", with_subject: bool = False) -> list[str]:
        return [row.line(time_zone, with_subject) for row in self.rows]


def parse_events(records: Iterable[dict[str, Any]], start_at: datetime) -> list[Event]:
    """Read simulation input: each record has `type` and either `at` (ISO) or `after` (e.g. `2d3h`)."""
    events = []
    for number, record in enumerate(records, 1):
        data = dict(record.get("data", {}))
        if "step" in record:
            data["step"] = record["step"]
        at = datetime.fromisoformat(record["at"]) if "at" in record else start_at + parse_duration(record["after"])
        events.append(
            Event(
                id=str(record.get("id", f"sim-event-{number}")),
                type=record["type"],
                at=as_utc(at),
                data=data,
                machine=bool(record.get("machine", False)),
            )
        )
    return events


class _Run:
    """The virtual world of one simulation: a clock, a timer queue, one contact and its enrollments."""

    def __init__(self, flow: Flow, contact: ContactView, policy: WorkspacePolicy, subject: SubjectRenderer | None):
        self.flow, self.contact, self.policy, self.subject = flow, contact, policy, subject
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.rows: list[TimelineRow] = []
        self.ledger: list[SentMessage] = []
        self.past: list[PastEnrollment] = []
        self.state: EnrollmentState | None = None
        self.end = datetime.max.replace(tzinfo=UTC)
        self.sequence = 0

    def push(self, at: datetime, kind: str, payload: Any) -> None:
        if at <= self.end:
            self.sequence += 1
            heapq.heappush(self.queue, (as_utc(at), self.sequence, kind, payload))

    def row(self, at: datetime, step: str | None, what: RowKind, detail: str, subject: str | None = None) -> None:
        self.rows.append(TimelineRow(at=at, step_id=step, what=what, detail=detail, subject=subject))

    def apply(self, decision: Decision, now: datetime) -> None:
        self.state = decision.state
        for action in decision.actions:
            match action:
                case ScheduleTimer():
                    self.push(action.at, "timer", action.timer_id)
                case RequestMessage():
                    self.ledger.append(SentMessage(at=now, channel=action.channel, category=action.category))
                    subject = self.subject(action.template, self.contact) if self.subject else None
                    detail = f"{action.channel} {action.template} ({action.category})"
                    step = self.flow.step(action.step_id)
                    if isinstance(step, SendStep) and step.coupon is not None:
                        detail += f" with a coupon ({step.coupon.source})"
                    self.row(now, action.step_id, "message", detail, subject)
                case Notify():
                    self.row(now, action.step_id, "notify", action.url)
                    # A simulated webhook is answered at once, so a step waiting on it goes on to `next`.
                    delivered = Event(
                        id=f"sim-{action.notification_id}", type=MESSAGE_DELIVERED, at=now,
                        message_id=action.notification_id,
                    )  # fmt: skip
                    self.push(now, "event", delivered)
                case UpdateContact():
                    self.contact = self.contact.with_changes(
                        action.set, frozenset(action.add_tags), frozenset(action.remove_tags)
                    )
                    changes = [f"{k}={v}" for k, v in action.set.items()]
                    changes += [f"+{t}" for t in action.add_tags] + [f"-{t}" for t in action.remove_tags]
                    if (off := action.unsubscribe) is not None:
                        self.contact = self.contact.unsubscribed(off.topic)
                        changes.append(f"unsubscribed from {off.topic or 'marketing'} ({off.reason})")
                    self.row(now, action.step_id, "update", " ".join(changes))
                case Transition(event=event) if event in _TRANSITION_ROWS:
                    self.row(now, action.step_id, _TRANSITION_ROWS[event], action.reason or "")
        if not self.state.active and self.past and self.past[-1].active:
            self.past[-1] = self.past[-1].model_copy(update={"active": False})

    def try_entry(self, now: datetime, event: Event | None) -> None:
        if self.state is not None and self.state.active:
            return
        verdict = decide_entry(self.flow, self.contact, now, self.past, event)
        if not verdict.enter:
            return
        self.past.append(PastEnrollment(entered_at=now, active=True))
        decision = start(
            self.flow, self.contact, now, f"sim-{verdict.number}",
            number=verdict.number, trigger=event, policy=self.policy, ledger=self.ledger,
        )  # fmt: skip
        self.apply(decision, now)

    def on_event(self, now: datetime, event: Event) -> None:
        state = self.state
        if event.message_id is None and "step" in event.data and state is not None:
            event = event.model_copy(update={"message_id": state.messages.get(str(event.data["step"]))})
        purchase = purchase_of(event)  # the facts follow the events, as the scheduler folds them
        facts = fold(self.contact.facts, [event], [purchase] if purchase is not None else [])
        self.contact = self.contact.with_event(event).model_copy(update={"facts": facts})
        if state is not None and state.active:
            self.apply(self.advance(state, EventReceived(event=event), now), now)
        self.try_entry(now, event)

    def advance(self, state: EnrollmentState, received: EventReceived | TimerFired, now: datetime) -> Decision:
        return advance(self.flow, state, received, now, self.contact, self.policy, self.ledger)

    def on_date(self, now: datetime) -> None:
        self.try_entry(now, None)
        following = next_date_entry(self.flow, self.contact, now, self.policy.time_zone)
        if following is not None:
            self.push(following, "date", None)


def costly_condition(flow: Flow, contact: ContactView, events: Sequence[Event], now: datetime) -> str | None:
    """The first condition of the flow too costly to evaluate on this contact and one of these events
    (it would count as false, unevaluated), named with where it sits; None when every one may run."""
    contact_value = contact.as_expression_value(now)
    scopes = [
        DataSizes(contact_value, e.as_expression_value() if e else {}, len(contact.history)) for e in (None, *events)
    ]
    for path, source in expressions_of(flow):
        for sizes in scopes:
            problem = cost_problem_on(source, sizes)
            if problem is not None:
                return f"{'.'.join(map(str, path))}: {problem}"
    return None


def simulate(
    flow: Flow,
    contact: ContactView,
    events: Sequence[Event],
    start_at: datetime,
    days: int = 60,
    policy: WorkspacePolicy = NO_POLICY,
    subject: SubjectRenderer | None = None,
) -> Timeline:
    """Replay `events` from `start_at` for `days` through the real engine; events before `start_at`
    only become history (so entry rules like "left a cart more than once" can see them)."""
    start_at = as_utc(start_at)
    run = _Run(flow, contact, policy, subject)
    run.end = start_at + timedelta(days=days)
    for event in sorted(events, key=lambda e: as_utc(e.at)):
        if as_utc(event.at) < start_at:
            run.contact = run.contact.with_event(event)
        else:
            run.push(event.at, "event", event)
    first_date = next_date_entry(flow, run.contact, start_at - timedelta(microseconds=1), policy.time_zone)
    if first_date is not None:
        run.push(first_date, "date", None)
    while run.queue:
        now, _, kind, payload = heapq.heappop(run.queue)
        if kind == "event":
            run.on_event(now, payload)
        elif kind == "date":
            run.on_date(now)
        elif run.state is not None and run.state.active:
            run.apply(run.advance(run.state, TimerFired(timer_id=payload), now), now)
    return Timeline(rows=tuple(run.rows), contact=run.contact)
