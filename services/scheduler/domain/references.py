"""Checks on what a flow refers to: expressions that parse, templates and attributes that exist."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from .expressions import ExpressionError, attributes_used, compile_expression
from .flow import Flow
from .steps import BranchStep, SendStep, UpdateContactStep, WaitForStep, WaitStep
from .triggers import DateTrigger, EventTrigger
from .yaml_lines import Path


def expressions_of(flow: Flow) -> Iterator[tuple[Path, str]]:
    """Every CEL expression in a flow with where it sits."""
    for i, trigger in enumerate(flow.triggers):
        if isinstance(trigger, EventTrigger) and trigger.where:
            yield ("triggers", i, "where"), trigger.where
    if flow.entry.audience:
        yield ("entry", "audience"), flow.entry.audience
    for i, goal in enumerate(flow.goals):
        if goal.where:
            yield ("goals", i, "where"), goal.where
    for i, step in enumerate(flow.steps):
        if isinstance(step, WaitForStep) and step.where:
            yield ("steps", i, "where"), step.where
        if isinstance(step, BranchStep):
            for j, condition in enumerate(step.conditions):
                yield ("steps", i, "conditions", j, "when"), condition.when


def _attributes_of(flow: Flow) -> Iterator[tuple[Path, str]]:
    for path, source in expressions_of(flow):
        for name in sorted(attributes_used(source)):
            yield path, name
    for i, trigger in enumerate(flow.triggers):
        if isinstance(trigger, DateTrigger):
            yield ("triggers", i, "attribute"), trigger.attribute
    for i, step in enumerate(flow.steps):
        if isinstance(step, WaitStep) and step.until_date:
            yield ("steps", i, "until_date", "attribute"), step.until_date.attribute
        if isinstance(step, WaitForStep) and step.attribute:
            yield ("steps", i, "attribute"), step.attribute
        if isinstance(step, UpdateContactStep):
            for name in step.set:
                yield ("steps", i, "set", name), name


def reference_problems(
    flow: Flow, known_templates: Collection[str] | None, known_attributes: Collection[str] | None
) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    for path, source in expressions_of(flow):
        try:
            compile_expression(source)
        except ExpressionError as error:
            problems.append((path, str(error)))
    if known_templates is not None:
        for i, step in enumerate(flow.steps):
            if isinstance(step, SendStep) and step.template not in known_templates:
                problems.append((("steps", i, "template"), f"step '{step.id}' uses unknown template '{step.template}'"))
    for i, step in enumerate(flow.steps):
        repeated = step.coupon.from_step if isinstance(step, SendStep) and step.coupon else None
        giver = flow.step(repeated) if repeated else None
        if repeated and not (isinstance(giver, SendStep) and giver.coupon and giver.coupon.from_step is None):
            reason = f"step '{step.id}' shows the coupon of '{repeated}', which is not a send step that gives one"
            problems.append((("steps", i, "coupon", "from_step"), reason))
    if known_attributes is not None:
        for path, name in _attributes_of(flow):
            if name not in known_attributes:
                problems.append((path, f"unknown contact attribute '{name}'"))
    return problems
