"""What the engine asks the outside world to do, and the records it leaves behind.

Plain frozen dataclasses, not pydantic models: the engine makes several per step, only from
values it already holds, and nothing parses them from outside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from .state import EnrollmentState
from .steps import Category, Channel, Unsubscribe


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleTimer:
    """Wake this enrollment at `at` by calling `advance` with `TimerFired(timer_id)`."""

    kind: ClassVar[str] = "schedule_timer"
    timer_id: str
    at: datetime
    step_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTimer:
    """A timer that is no longer needed; firing it anyway is harmless (the engine ignores it)."""

    kind: ClassVar[str] = "cancel_timer"
    timer_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestMessage:
    """Render and send one message. `message_id` is deterministic, so a replay asks for the same id."""

    kind: ClassVar[str] = "request_message"
    message_id: str
    channel: Channel
    template: str
    category: Category
    step_id: str
    flow_id: str
    flow_version: int
    contact_id: str
    best_time: bool = False
    variant: str | None = None
    locale: str | None = None  # the contact's language now: the template variant it gets, kept for retries


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify:
    """Post a signed webhook; the payload values are Liquid templates over the contact."""

    kind: ClassVar[str] = "notify"
    notification_id: str
    url: str
    payload: dict[str, Any]
    step_id: str
    contact_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateContact:
    kind: ClassVar[str] = "update_contact"
    contact_id: str
    set: dict[str, Any]
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    unsubscribe: Unsubscribe | None = None
    step_id: str


TransitionKind = Literal["entered", "step_reached", "held_by_policy", "skipped", "failed", "goal_reached", "exited"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """An audit record: what happened to the enrollment and why."""

    kind: ClassVar[str] = "transition"
    event: TransitionKind
    at: datetime
    step_id: str | None = None
    reason: str | None = None
    variant: str | None = None


Action = ScheduleTimer | CancelTimer | RequestMessage | Notify | UpdateContact | Transition


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The engine's answer: the state to store and the actions to carry out, in order."""

    state: EnrollmentState
    actions: tuple[Action, ...] = field(default=())

    @property
    def transitions(self) -> list[Transition]:
        return [a for a in self.actions if isinstance(a, Transition)]

    @property
    def messages(self) -> list[RequestMessage]:
        return [a for a in self.actions if isinstance(a, RequestMessage)]
