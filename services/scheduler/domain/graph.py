"""Checks on the shape of a flow: targets exist, every step is reachable, no loop runs without a wait."""

from __future__ import annotations

from collections.abc import Iterator

from .contact import MESSAGE_CLICKED, MESSAGE_OPENED
from .flow import Flow
from .steps import SendStep, WaitForStep, WaitStep, targets
from .yaml_lines import Path


def _field_path(index: int, field: str) -> Path:
    parts: list[str | int] = ["steps", index]
    parts += [int(p) if p.isdigit() else p for p in field.split(".")]
    return tuple(parts)


def _target_problems(flow: Flow) -> Iterator[tuple[Path, str]]:
    seen: dict[str, int] = {}
    for index, step in enumerate(flow.steps):
        if step.id in seen:
            yield ("steps", index, "id"), f"step id '{step.id}' is used twice; ids must be unique"
        seen.setdefault(step.id, index)
        for field, target in targets(step):
            if flow.step(target) is None:
                yield _field_path(index, field), f"step '{step.id}' goes to '{target}', which is not a step here"
        if (
            isinstance(step, WaitForStep)
            and step.event in (MESSAGE_OPENED, MESSAGE_CLICKED)
            and step.of_step
            and not isinstance(flow.step(step.of_step), SendStep)
        ):
            reason = f"step '{step.id}' waits on '{step.of_step}', which is not a send step"
            yield ("steps", index, "of_step"), reason
    if flow.start and flow.step(flow.start) is None:
        yield ("start",), f"start step '{flow.start}' is not a step here"


def _unreachable(flow: Flow) -> Iterator[tuple[Path, str]]:
    reached: set[str] = set()
    frontier = [flow.first_step_id]
    while frontier:
        current = frontier.pop()
        step = flow.step(current)
        if current in reached or step is None:
            continue
        reached.add(current)
        frontier += flow.successors(step)
    for index, step in enumerate(flow.steps):
        if step.id not in reached:
            yield ("steps", index), f"step '{step.id}' can never be reached; no step leads to it"


def _instant_loops(flow: Flow) -> Iterator[tuple[Path, str]]:
    """A cycle through steps that never wait would spin forever; report each once."""
    instant = {s.id: s for s in flow.steps if not isinstance(s, WaitStep | WaitForStep)}
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(step_id: str, trail: list[str]) -> Iterator[tuple[Path, str]]:
        state[step_id] = 1
        trail.append(step_id)
        for nxt in flow.successors(instant[step_id]):
            if nxt not in instant:
                continue
            if state.get(nxt) == 1:
                loop = trail[trail.index(nxt) :] + [nxt]
                if frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    yield ("steps", flow.step_index[nxt]), "steps " + " -> ".join(loop) + " loop without a wait"
            elif nxt not in state:
                yield from visit(nxt, trail)
        trail.pop()
        state[step_id] = 2

    for step_id in instant:
        if step_id not in state:
            yield from visit(step_id, [])


def graph_problems(flow: Flow) -> list[tuple[Path, str]]:
    problems = list(_target_problems(flow))
    if problems:
        return problems  # reachability is meaningless while targets are broken
    return [*_unreachable(flow), *_instant_loops(flow)]
