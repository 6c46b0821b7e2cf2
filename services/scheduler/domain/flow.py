"""A flow: who enters, which steps they walk, and which goals end it early."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from .steps import Category, Step, falls_through, targets
from .triggers import EntryRule, Expression, Trigger


class Goal(BaseModel):
    """An event that ends the flow for a contact wherever they are, counted as a conversion."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    event: str = Field(min_length=1)
    where: Expression | None = None


class SplitWinner(BaseModel):
    """A split variant declared the winner: contacts entering from `since` on take it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    variant: str
    since: datetime


class Flow(BaseModel):
    """One version of one journey. `version` is stamped by whoever stores it; files leave it at 1."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)
    name: str = Field(min_length=1)
    version: int = Field(default=1, ge=1)
    description: str | None = None
    topic: str | None = Field(default=None, description="Subscription topic; unsubscribing from it ends the flow")
    category: Category = "marketing"
    missing_data: Literal["skip", "exit"] = Field(
        default="skip",
        description=(
            "When a message cannot be rendered because a value it needs is missing (no first name, a cart "
            "without cart_url): skip that message and go on (recorded as skipped with the reason), or end "
            "the enrollment. A message is never sent with the value blank."
        ),
    )
    triggers: tuple[Trigger, ...] = Field(min_length=1)
    entry: EntryRule = EntryRule()
    goals: tuple[Goal, ...] = ()
    start: str | None = Field(default=None, description="First step; defaults to the first listed")
    steps: tuple[Step, ...] = Field(min_length=1)
    # Not part of the flow file: the scheduler adds the winners analytics declared per split step.
    winners: SkipJsonSchema[dict[str, SplitWinner]] = Field(default_factory=dict, exclude=True)

    @cached_property
    def step_index(self) -> dict[str, int]:
        return {step.id: i for i, step in enumerate(self.steps)}

    @property
    def first_step_id(self) -> str:
        return self.start or self.steps[0].id

    def step(self, step_id: str) -> Step | None:
        index = self.step_index.get(step_id)
        return None if index is None else self.steps[index]

    def following(self, step: Step) -> str | None:
        """Where a step goes next when done: its `next`, else the step listed after it, else nowhere."""
        if step.next:
            return step.next
        if not falls_through(step):
            return None
        index = self.step_index[step.id] + 1
        return self.steps[index].id if index < len(self.steps) else None

    def successors(self, step: Step) -> list[str]:
        found = [target for _, target in targets(step)]
        fallthrough = self.following(step)
        if fallthrough and fallthrough not in found:
            found.append(fallthrough)
        return found
