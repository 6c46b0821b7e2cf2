"""Typed errors of the sender domain, each naming what a marketer must fix."""

from __future__ import annotations

from dataclasses import dataclass


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
