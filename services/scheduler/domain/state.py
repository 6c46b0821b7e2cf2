"""An enrollment: one contact's walk through one version of one flow, as a serialisable value."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

WaitKind = Literal["wait", "wait_for", "policy", "best_time", "outcome"]
_set = object.__setattr__  # models are frozen; a fresh copy is filled in as pydantic's own copy does


class Waiting(BaseModel):
    """What the enrollment is parked on: which step, until when, and the timer that will wake it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step_id: str
    kind: WaitKind
    until: datetime
    timer_id: str


class EnrollmentState(BaseModel):
    """Everything the engine needs to continue a walk later; the service stores it as JSON.

    `number` counts this contact's enrollments in the flow (1 for the first) so message ids stay
    unique when a contact re-enters; `visits` counts arrivals per step for the same reason.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enrollment_id: str
    workspace_id: str
    contact_id: str
    flow_id: str
    flow_version: int
    number: int = 1
    entered_at: datetime
    status: Literal["active", "completed", "exited", "converted"] = "active"
    exit_reason: str | None = None
    step_id: str | None = None
    waiting: Waiting | None = None
    paused: bool = False
    due_while_paused: bool = False
    visits: dict[str, int] = Field(default_factory=dict)
    messages: dict[str, str] = Field(default_factory=dict, description="send step id -> latest message id")
    variants: dict[str, str] = Field(default_factory=dict, description="split step id -> variant taken")
    timers_set: int = 0
    trigger_event: dict[str, Any] | None = None
    received: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="wait_for step id -> the event it received, as templates see it"
    )

    @property
    def active(self) -> bool:
        return self.status == "active"

    def evolve(self, **changes: Any) -> EnrollmentState:
        """`model_copy(update=changes)`, which the engine calls several times a step, minus its generic copying.

        Like `model_copy`, it does not validate: the engine only sets fields to values of their own type."""
        evolved = object.__new__(EnrollmentState)
        _set(evolved, "__dict__", {**self.__dict__, **changes})
        _set(evolved, "__pydantic_fields_set__", self.__pydantic_fields_set__ | changes.keys())
        _set(evolved, "__pydantic_extra__", None)
        _set(evolved, "__pydantic_private__", None)
        return evolved
