"""Typed errors of the sender domain, each naming what a marketer must fix."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contract.internal import MISSING_DATA


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a template: where (field or part) and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class TemplateError(ValueError):
    """A template file that cannot be loaded or compiled; lists every problem found."""

    def __init__(self, template: str, problems: list[Problem]) -> None:
        self.template = template
        self.problems = problems
        listed = "; ".join(str(p) for p in problems)
        super().__init__(f"template {template!r} is invalid: {listed}")


class RenderError(ValueError):
    """Rendering one message failed; no part of that message is ever returned.

    A render error is permanent for that message: the same data would fail again.
    """

    def __init__(self, template: str, part: str, reason: str) -> None:
        self.template = template
        self.part = part
        self.reason = reason
        super().__init__(f"template {template!r}, part {part!r}: {reason}")


class MissingData(RenderError):
    """The message needs a value its data does not have (`contact.first_name`, `event.cart_url`).

    Not a broken template: this reader or this event lacks the value. The message is skipped with
    `detail` as its reason, never sent with the value blank."""

    def __init__(self, template: str, part: str, variable: str) -> None:
        super().__init__(template, part, f"{variable} is missing")
        self.variable = variable

    @property
    def detail(self) -> str:
        return f"{MISSING_DATA}{self.variable} (template {self.template}, {self.part})"
