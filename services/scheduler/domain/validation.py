"""Turn a flow file into a `Flow`, or into problems a marketer can fix: file, line, plain reason."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from .flow import Flow
from .graph import graph_problems
from .references import reference_problems
from .yaml_lines import Path, YamlProblem, line_of, load_with_lines

STEP_TYPES = "wait, send, wait_for, branch, split, update_contact, notify, exit"


@dataclass(frozen=True, order=True)
class FlowProblem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class FlowInvalid(ValueError):
    """Raised by `load_flow`; `problems` lists every problem found, ordered by line."""

    def __init__(self, problems: list[FlowProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _has_child(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _raw_path(data: Any, loc: tuple[str | int, ...]) -> Path:
    """Map a pydantic error location onto the YAML, skipping union tags that are not in the file."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if _has_child(node, part):
            node = node[part]
            path.append(part)
    return tuple(path)


def _subject(data: Any, path: Path) -> str:
    """'step "welcome"' when the error sits inside a step, else the top-level field."""
    if len(path) >= 2 and path[0] == "steps" and isinstance(data, dict):
        steps = data.get("steps")
        index = path[1]
        if isinstance(steps, list) and isinstance(index, int) and isinstance(steps[index], dict):
            raw = steps[index]
            kind = raw.get("type", "step")
            return f"{kind} step '{raw.get('id', index + 1)}'"
    return "the flow" if not path else f"'{path[0]}'"


def _reason(error: ErrorDetails, data: Any, path: Path) -> str:
    field = str(error["loc"][-1]) if error["loc"] else "flow"
    subject = _subject(data, path)
    kind = error["type"]
    if kind == "missing":
        if field == "timeout":
            return f"{subject} has no timeout; a contact would wait forever (add e.g. timeout: 3d)"
        if field in ("else", "next", "on_event", "on_timeout"):
            return f"{subject} has no target for '{field}'; say which step comes next"
        return f"{subject} is missing '{field}'"
    if kind == "union_tag_invalid":
        return f"unknown step type '{error.get('ctx', {}).get('tag')}'; use one of {STEP_TYPES}"
    if kind == "union_tag_not_found":
        return f"{subject} has no 'type'; use one of {STEP_TYPES}"
    if kind == "extra_forbidden":
        return f"{subject}: '{field}' is not a known field here"
    if kind in ("value_error", "assertion_error"):
        return f"{subject}: {error['msg'].removeprefix('Value error, ')}"
    if kind == "literal_error":
        return f"{subject}: '{error['input']}' is not allowed for '{field}'; expected {error['ctx']['expected']}"
    return f"{subject}: '{field}' {error['msg'][0].lower()}{error['msg'][1:]}"


def check_flow(
    text: str,
    file: str = "<flow>",
    known_templates: Collection[str] | None = None,
    known_attributes: Collection[str] | None = None,
) -> tuple[Flow | None, list[FlowProblem]]:
    """Validate a flow file. Templates and attributes are only checked when the known sets are given."""
    try:
        data, lines = load_with_lines(text)
    except YamlProblem as problem:
        return None, [FlowProblem(file, problem.line, problem.reason)]
    if not isinstance(data, dict):
        return None, [FlowProblem(file, 1, "a flow file holds one mapping with id, name, triggers and steps")]
    try:
        flow = Flow.model_validate(data)
    except ValidationError as error:
        details = error.errors()
        # A list whose items all failed also reports "too short"; the item errors say more.
        if any(d["type"] != "too_short" for d in details):
            details = [d for d in details if d["type"] != "too_short"]
        found = []
        for detail in details:
            path = _raw_path(data, detail["loc"])
            if detail["type"] == "union_tag_invalid":
                path = (*path, "type")
            found.append(FlowProblem(file, line_of(lines, path), _reason(detail, data, path)))
        return None, sorted(set(found))
    problems = [
        FlowProblem(file, line_of(lines, path), reason)
        for path, reason in [*graph_problems(flow), *reference_problems(flow, known_templates, known_attributes)]
    ]
    return (None if problems else flow), sorted(set(problems))


def load_flow(
    text: str,
    file: str = "<flow>",
    known_templates: Collection[str] | None = None,
    known_attributes: Collection[str] | None = None,
) -> Flow:
    """The flow in `text`, or FlowInvalid listing every problem."""
    flow, problems = check_flow(text, file, known_templates, known_attributes)
    if flow is None:
        raise FlowInvalid(problems)
    return flow
