"""What the engine asks the outside world to do, and the records it leaves behind."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .state import EnrollmentState
from .steps import Category, Channel


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScheduleTimer(_Action):
    """Wake this enrollment at `at` by calling `advance` with `TimerFired(timer_id)`."""

    kind: Literal["schedule_timer"] = "schedule_timer"
    timer_id: str
    at: datetime
    step_id: str


class CancelTimer(_Action):
    """A timer that is no longer needed; firing it anyway is harmless (the engine ignores it)."""

    kind: Literal["cancel_timer"] = "cancel_timer"
    timer_id: str


class RequestMessage(_Action):
    """Render and send one message. `message_id` is deterministic, so a replay asks for the same id."""

    kind: Literal["request_message"] = "request_message"
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


class Notify(_Action):
    """Post a signed webhook; the payload values are Liquid templates over the contact."""

    kind: Literal["notify"] = "notify"
    notification_id: str
    url: str
    payload: dict[str, Any]
    step_id: str
    contact_id: str


class UpdateContact(_Action):
    kind: Literal["update_contact"] = "update_contact"
    contact_id: str
    set: dict[str, Any]
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    step_id: str


TransitionKind = Literal["entered", "step_reached", "held_by_policy", "skipped", "goal_reached", "exited"]


class Transition(_Action):
    """An audit record: what happened to the enrollment and why."""

    kind: Literal["transition"] = "transition"
    event: TransitionKind
    at: datetime
    step_id: str | None = None
    reason: str | None = None
    variant: str | None = None


Action = ScheduleTimer | CancelTimer | RequestMessage | Notify | UpdateContact | Transition


class Decision(BaseModel):
    """The engine's answer: the state to store and the actions to carry out, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: EnrollmentState
    actions: tuple[Action, ...] = ()

    @property
    def transitions(self) -> list[Transition]:
        return [a for a in self.actions if isinstance(a, Transition)]

    @property
    def messages(self) -> list[RequestMessage]:
        return [a for a in self.actions if isinstance(a, RequestMessage)]
