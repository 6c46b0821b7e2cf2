"""The steps a journey is made of, as a discriminated union on `type`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .coupons import CouponRule
from .durations import Duration, TimeOfDay
from .triggers import Expression

StepId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", min_length=1, max_length=80)]
Channel = Literal["email", "sms", "webhook"]
Category = Literal["marketing", "transactional"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: StepId
    next: StepId | None = Field(default=None, description="Defaults to the step listed after this one")


class UntilTime(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    time: TimeOfDay
    weekdays: tuple[Weekday, ...] | None = None


class UntilDate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    attribute: str = Field(min_length=1)
    offset: Duration = timedelta(0)
    time: TimeOfDay | None = None


class WaitStep(_Step):
    """Pause for a duration, until a local time (and weekday), or until a date attribute ± offset."""

    type: Literal["wait"] = "wait"
    duration: Duration | None = None
    until: UntilTime | None = None
    until_date: UntilDate | None = None
    on_past: StepId | None = Field(default=None, description="Where to go if until_date already passed")

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> WaitStep:
        kinds = [k for k in (self.duration, self.until, self.until_date) if k is not None]
        if len(kinds) != 1:
            raise ValueError("a wait needs exactly one of duration, until or until_date")
        return self


class SendStep(_Step):
    """Ask for a message; workspace policies may hold it back (`if_held`: defer or skip)."""

    type: Literal["send"] = "send"
    channel: Channel = "email"
    template: str = Field(min_length=1)
    category: Category | None = Field(default=None, description="Defaults to the flow's category")
    at: Literal["now", "best_time"] = "now"
    within: Duration = Field(
        default=timedelta(hours=24), description="For `at: best_time`: how far ahead the send may move"
    )
    if_held: Literal["defer", "skip"] = "defer"
    coupon: CouponRule | None = Field(
        default=None,
        description="A discount code for the contact, issued once per enrollment and step: `{{ coupon.code }}`",
    )


class WaitForStep(_Step):
    """Wait for an event (an open or click of an earlier message, a purchase, any event, an attribute change)."""

    type: Literal["wait_for"] = "wait_for"
    event: str = Field(min_length=1, description="An event type, 'any', or message_opened/clicked")
    of_step: StepId | None = Field(default=None, description="For opens and clicks: the send step they belong to")
    attribute: str | None = Field(default=None, description="For attribute_changed: which attribute")
    where: Expression | None = None
    timeout: Duration
    on_event: StepId
    on_timeout: StepId
    include_machine: bool = Field(default=False, description="Count opens and clicks by privacy proxies/scanners")


class Condition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    when: Expression
    next: StepId


class BranchStep(_Step):
    """First matching condition wins; otherwise `else`."""

    type: Literal["branch"] = "branch"
    conditions: tuple[Condition, ...] = Field(min_length=1)
    else_: StepId = Field(alias="else")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Variant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    weight: int = Field(ge=1)
    next: StepId


class AutoWinner(BaseModel):
    """Declare the better variant the winner once the test is significant with enough contacts per variant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: Literal["opened", "clicked", "converted"] = "clicked"
    min_sample: int = Field(default=100, ge=10, description="Per variant: delivered messages (or entries)")
    confidence: float = Field(default=0.95, gt=0.5, lt=1)


class SplitStep(_Step):
    """Weighted A/B/n split, sticky per contact; with `auto_winner`, new entrants later take the winner."""

    type: Literal["split"] = "split"
    variants: tuple[Variant, ...] = Field(min_length=2)
    auto_winner: AutoWinner | None = None


class Unsubscribe(BaseModel):
    """Take the contact off marketing (or one topic), recorded in the consent ledger under `reason`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str | None = Field(default=None, min_length=1, description="Only this topic; without it all marketing")
    reason: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$", description="The ledger's source, e.g. sunset")


class UpdateContactStep(_Step):
    type: Literal["update_contact"] = "update_contact"
    set: dict[str, Any] = Field(default_factory=dict)
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    unsubscribe: Unsubscribe | None = Field(
        default=None, description="A sunset policy: unsubscribe the contact, with the reason in the consent ledger"
    )


class NotifyStep(_Step):
    """A signed webhook to a person or system, e.g. the salesperson responsible for the contact.

    With `on_failure` the step waits for the webhook's outcome (up to `timeout`): delivered goes on to
    `next`, refused or failed (or no answer in time) to `on_failure`. Without it the flow goes on at once."""

    type: Literal["notify"] = "notify"
    url: str = Field(pattern=r"^https?://")
    channel: Literal["post"] | None = Field(
        default=None,
        description="post: the webhook asks a print/post provider to send the person a letter, so in a marketing "
        "flow it needs the contact's consent to post (skipped with the reason otherwise)",
    )
    payload: dict[str, Any] = Field(default_factory=dict, description="Values may use Liquid placeholders")
    on_failure: StepId | None = Field(default=None, description="Where to go when the webhook is refused or fails")
    timeout: Duration = Field(
        default=timedelta(hours=1), description="With on_failure: how long to wait for the webhook's outcome"
    )


class ExitStep(_Step):
    type: Literal["exit"] = "exit"
    reason: str = "completed"


Step = Annotated[
    WaitStep | SendStep | WaitForStep | BranchStep | SplitStep | UpdateContactStep | NotifyStep | ExitStep,
    Field(discriminator="type"),
]


def targets(step: Step) -> list[tuple[str, str]]:
    """Every explicit (field, step id) edge leaving a step, for graph checks and the walk."""
    edges: list[tuple[str, str | None]] = [("next", step.next)]
    match step:
        case WaitStep(on_past=past):
            edges.append(("on_past", past))
        case WaitForStep(on_event=hit, on_timeout=miss):
            edges += [("on_event", hit), ("on_timeout", miss)]
        case BranchStep(conditions=conditions, else_=otherwise):
            edges += [(f"conditions.{i}.next", c.next) for i, c in enumerate(conditions)]
            edges.append(("else", otherwise))
        case SplitStep(variants=variants):
            edges += [(f"variants.{i}.next", v.next) for i, v in enumerate(variants)]
        case NotifyStep(on_failure=failure):
            edges.append(("on_failure", failure))
    return [(name, target) for name, target in edges if target]


def falls_through(step: Step) -> bool:
    """Whether an absent `next` means "continue with the step listed below"."""
    return not isinstance(step, WaitForStep | BranchStep | SplitStep | ExitStep) and step.next is None
