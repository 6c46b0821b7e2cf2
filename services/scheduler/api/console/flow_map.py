"""A flow drawn as a map: its steps laid out in rows by distance from the start, the edges between them
labelled with the branch, variant or outcome they stand for, and live counts on every step.

Pure: the flow, the report's counts and the contacts waiting per step in, positions and labels out;
`templates/flow_map.svg` draws them. Rows are breadth-first layers, so a loop back (a reminder that
waits for a purchase again) is drawn as an arc on the right instead of crossing the map.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.scheduler.analytics.domain.report_models import Counts
from services.scheduler.domain import Flow
from services.scheduler.domain.durations import format_duration
from services.scheduler.domain.steps import (
    BranchStep,
    ExitStep,
    NotifyStep,
    SendStep,
    SplitStep,
    Step,
    UpdateContactStep,
    WaitForStep,
    WaitStep,
    targets,
)
from services.scheduler.domain.triggers import ApiTrigger, DateTrigger, EventTrigger, SegmentTrigger, Trigger

NODE_W, COL_GAP, ROW_GAP, HEADER_H, LINE_H, MARGIN, LOOP_ROOM = 230, 36, 58, 44, 17, 16, 120
SHOWN_REASONS = 2
# What a send step shows besides waiting and passed, in the report's words; `suppressed` is held by policy.
SEND_METRICS = (("sent", "sent"), ("delivered", "delivered"), ("opened", "opened"), ("clicked", "clicked"),
                ("held", "suppressed"))  # fmt: skip
_EDGE_NAMES = {"on_event": "event", "on_timeout": "timeout", "on_past": "date passed", "on_failure": "failed",
               "else": "else"}  # fmt: skip


@dataclass(frozen=True)
class Line:
    label: str
    metric: str  # the report's field (`waiting` for contacts there now)
    value: int


@dataclass
class Node:
    step_id: str
    kind: str
    title: str
    detail: str
    lines: list[Line]
    x: int = 0
    y: int = 0
    layer: int = 0
    held_for: list[tuple[str, int]] = field(default_factory=list)  # why the sender held its messages, most first

    @property
    def height(self) -> int:
        return HEADER_H + LINE_H * ((len(self.lines) + 1) // 2 + len(self.shown_reasons)) + 8

    @property
    def shown_reasons(self) -> list[tuple[str, int]]:
        """The reasons drawn on the node (the rest are in its tooltip and the table under the map)."""
        return [
            (reason if len(reason) <= 28 else reason[:27].rstrip() + "…", n)
            for reason, n in self.held_for[:SHOWN_REASONS]
        ]


@dataclass(frozen=True)
class Edge:
    path: str
    label: str
    label_x: int
    label_y: int
    back: bool


@dataclass
class FlowMap:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int
    entry: str
    goals: list[str] = field(default_factory=list)
    converted: int = 0


def _trigger(trigger: Trigger) -> str:
    match trigger:
        case EventTrigger(event=event, where=where):
            return f"{event} where {where}" if where else event
        case SegmentTrigger(segment=segment):
            return f"joins segment {segment}"
        case DateTrigger(attribute=attribute, offset=offset):
            return f"date {attribute} {format_duration(offset)}" if offset else f"date {attribute}"
        case ApiTrigger():
            return "API call"
    return "?"


def _describe(step: Step) -> tuple[str, str]:
    """(title, detail): what the step is, and its particulars (a wait's duration, a send's template)."""
    match step:
        case WaitStep(duration=duration, until=until, until_date=until_date):
            if duration is not None:
                return "wait", format_duration(duration)
            if until is not None:
                days = f" {','.join(until.weekdays)}" if until.weekdays else ""
                return "wait until", f"{until.time:%H:%M}{days}"
            assert until_date is not None
            return "wait until date", f"{until_date.attribute} {format_duration(until_date.offset)}"
        case SendStep(channel=channel, template=template):
            return f"send {channel}", template
        case WaitForStep(event=event, timeout=timeout):
            return "wait for", f"{event}, up to {format_duration(timeout)}"
        case BranchStep(conditions=conditions):
            return "branch", f"{len(conditions)} condition{'s' if len(conditions) > 1 else ''} and else"
        case SplitStep(variants=variants):
            return "split", " / ".join(v.id for v in variants)
        case UpdateContactStep():
            return "update contact", ", ".join([*step.set, *step.add_tags, *step.remove_tags])[:40]
        case NotifyStep():
            return "notify", "webhook"
        case ExitStep(reason=reason):
            return "exit", reason
    return step.type, ""


def _lines(step: Step, counts: Counts, waiting: int, held_now: int) -> list[Line]:
    lines = [Line("waiting", "waiting", waiting), Line("passed", "reached", counts.reached)]
    if isinstance(step, SendStep):
        lines += [Line(label, metric, getattr(counts, metric)) for label, metric in SEND_METRICS]
        lines.append(Line("held now", "held_now", held_now))  # of those waiting: parked by the policy
    if counts.goal_reached:
        lines.append(Line("converted", "goal_reached", counts.goal_reached))
    if counts.exited or isinstance(step, ExitStep):
        lines.append(Line("exited", "exited", counts.exited))
    return lines


def _edges_of(flow: Flow, step: Step) -> list[tuple[str, str]]:
    """(label, target) of every edge leaving the step, the fall-through to the next listed step included."""
    found: list[tuple[str, str]] = []
    for name, target in targets(step):
        label = _EDGE_NAMES.get(name, "")
        if name.startswith("conditions."):
            assert isinstance(step, BranchStep)
            label = f"if {step.conditions[int(name.split('.')[1])].when}"
        elif name.startswith("variants."):
            assert isinstance(step, SplitStep)
            variant = step.variants[int(name.split(".")[1])]
            share = round(100 * variant.weight / sum(v.weight for v in step.variants))
            label = f"{variant.id} {share}%"
        found.append((label[:34] + ("…" if len(label) > 34 else ""), target))
    following = flow.following(step)
    if following and following not in {target for _, target in found}:
        found.append(("", following))
    return found


def _layers(flow: Flow) -> dict[str, int]:
    """Breadth-first distance from the first step; steps no path reaches go below the rest."""
    layer = {flow.first_step_id: 0}
    frontier = [flow.first_step_id]
    while frontier:
        following: list[str] = []
        for step_id in frontier:
            step = flow.step(step_id)
            for _, target in _edges_of(flow, step) if step else []:
                if target not in layer and flow.step(target) is not None:
                    layer[target] = layer[step_id] + 1
                    following.append(target)
        frontier = following
    bottom = max(layer.values()) + 1
    return {step.id: layer.get(step.id, bottom) for step in flow.steps}


def lay_out(
    flow: Flow,
    counts: dict[str, Counts],
    waiting: dict[str, int],
    converted: int = 0,
    held_now: dict[str, int] | None = None,
    held_for: dict[str, list[tuple[str, int]]] | None = None,
) -> FlowMap:
    """`held_for`: by step, the reasons the sender gave for the messages it held, with how many, most first."""
    layers = _layers(flow)
    nodes = {}
    for step in flow.steps:
        lines = _lines(step, counts.get(step.id, Counts()), waiting.get(step.id, 0), (held_now or {}).get(step.id, 0))
        reasons = (held_for or {}).get(step.id, [])
        nodes[step.id] = Node(step.id, step.type, *_describe(step), lines, layer=layers[step.id], held_for=reasons)
    rows: dict[int, list[Node]] = {}
    for node in nodes.values():
        rows.setdefault(node.layer, []).append(node)
    widest = max(len(row) for row in rows.values())
    full = widest * NODE_W + (widest - 1) * COL_GAP
    y = MARGIN
    for layer in sorted(rows):
        row = rows[layer]
        x = MARGIN + (full - (len(row) * NODE_W + (len(row) - 1) * COL_GAP)) // 2
        for node in row:
            node.x, node.y = x, y
            x += NODE_W + COL_GAP
        y += max(node.height for node in row) + ROW_GAP
    edges = [
        _edge(nodes[step.id], nodes[target], label)
        for step in flow.steps
        for label, target in _edges_of(flow, step)
        if target in nodes
    ]
    entry = ", ".join(_trigger(trigger) for trigger in flow.triggers)
    goals = [f"{goal.id}: {goal.event}" for goal in flow.goals]
    return FlowMap(
        list(nodes.values()), edges, full + 2 * MARGIN + LOOP_ROOM, y - ROW_GAP + MARGIN, entry, goals, converted
    )


def _edge(source: Node, target: Node, label: str) -> Edge:
    if target.layer > source.layer:
        x1, y1 = source.x + NODE_W // 2, source.y + source.height
        x2, y2 = target.x + NODE_W // 2, target.y
        bend = max(24, (y2 - y1) // 2)
        path = f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2 - 6}"
        return Edge(path, label, (x1 + x2) // 2 + 4, (y1 + y2) // 2 + 4, False)
    if target.layer == source.layer and target is not source:  # beside it: straight across
        y1, y2 = source.y + source.height // 2, target.y + target.height // 2
        x1, x2 = (source.x + NODE_W, target.x - 6) if target.x > source.x else (source.x, target.x + NODE_W + 6)
        return Edge(f"M{x1},{y1} L{x2},{y2}", label, min(x1, x2) + 4, min(y1, y2) - 6, False)
    # Back to an earlier row (or to itself): an arc out on the right, into the target's right side.
    x1, y1 = source.x + NODE_W, source.y + source.height // 2
    x2, y2 = target.x + NODE_W, target.y + target.height // 2
    out = max(x1, x2) + 40 + 12 * abs(source.layer - target.layer)
    path = f"M{x1},{y1} C{out},{y1} {out},{y2} {x2 + 6},{y2}"
    return Edge(path, label, out - 30, (y1 + y2) // 2, True)
