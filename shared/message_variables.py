"""Which variables a message may use, and which of a template's or payload's a flow cannot provide.

A message sees `contact` (read by the sender), the flow's frozen context (`event`, `events.<wait_for
step>`, `flow`, `step`), `workspace` and the unsubscribe links. What `event` holds follows from the
flow's triggers and the contract's schemas (`shared/contract/shop.py`) plus the properties a trigger
lists; `events.<step>` from what its wait_for step waits for. A variable nothing provides, used
without `| default:`, is a problem naming its file, line and variable. Shared by `dripline flows
validate`, the scheduler's flow publish and the sender's template publish; pure.
"""

from __future__ import annotations

import re
import types
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from liquid import Environment
from liquid.exceptions import LiquidError
from pydantic import BaseModel

from shared.contract.shop import ActivityFields, CartFields, PurchaseFields, SignupFields
from shared.customer_facts import FACT_NAMES

LEAF = "leaf"  # a value with nothing below it (text, number, date)
ANY = "any"  # free-form: anything below it may exist
Shape = Any  # LEAF, ANY, a dict of named shapes, or a one-item list holding the shape of each element

_MODELS: dict[str, type[BaseModel]] = {
    "signup": SignupFields,
    "purchase": PurchaseFields,
    **dict.fromkeys(("cart_updated", "checkout_started", "cart_abandoned"), CartFields),
    **dict.fromkeys(("form_submitted", "product_viewed", "document_downloaded"), ActivityFields),
}
# The name of a form, product or document also reads as `event.form` (`.product`, `.document`).
_NAMED = {"form_submitted": "form", "product_viewed": "product", "document_downloaded": "document"}
# Not in a message: merged into the event (properties), personal (a sign-up's consent proof).
_HIDDEN = frozenset({"type", "properties", "consent"})
_SYSTEM: dict[str, dict[str, Shape]] = {
    "message_opened": {"url": LEAF, "step": LEAF, "broadcast_id": LEAF},
    "message_clicked": {"url": LEAF, "step": LEAF, "broadcast_id": LEAF},
    "segment_entered": {"segment": LEAF},
    "segment_left": {"segment": LEAF},
    "attribute_changed": {"attribute": LEAF, "value": ANY, "previous": ANY},
    "unsubscribed": {"topic": LEAF},
    "enroll_requested": {"flow_id": LEAF},
}
PROFILE_FIELDS = ("first_name", "last_name", "email", "phone", "locale", "timezone", "birthday", "external_id")
_ATTRIBUTES = "attributes"
# Spend and average order value are per currency (`contact.facts.total_spent.EUR`), the last order's products a list.
_FACTS: dict[str, Shape] = {
    **dict.fromkeys(FACT_NAMES, LEAF), "total_spent": ANY, "average_order_value": ANY, "last_order_products": [ANY],
}  # fmt: skip
CONTACT: dict[str, Shape] = {
    "id": LEAF, **dict.fromkeys(PROFILE_FIELDS, LEAF), "tags": [LEAF], _ATTRIBUTES: ANY, "facts": _FACTS,
}  # fmt: skip
_FIXED: dict[str, Shape] = {
    "contact": CONTACT,
    "flow": {"id": LEAF, "name": LEAF, "version": LEAF},
    "step": {"id": LEAF},
    "workspace": {"id": LEAF, "name": LEAF, "postal_address": LEAF, "sender": {"name": LEAF, "email": LEAF}},
    "unsubscribe_url": LEAF,
    "preferences_url": LEAF,
    "dripline": {"locale": LEAF, "time_zone": LEAF, "unsubscribe_url": LEAF, "preferences_url": LEAF},
    "variant": LEAF,
    "best_time": LEAF,
    "coupon": {"code": LEAF, "expires_at": LEAF},  # a send step's discount code (`coupon:` on the step)
}
ROOTS = "contact, event, events, flow, step, workspace, unsubscribe_url and preferences_url"
_SPECIAL = frozenset({"size", "first", "last"})


def _shape_of(annotation: Any) -> Shape:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _shape_of(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _shape_of(options[0]) if len(options) == 1 else LEAF
    if origin in (list, tuple):
        return [_shape_of(get_args(annotation)[0])]
    if origin is dict:
        return ANY
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: _shape_of(info.annotation) for name, info in annotation.model_fields.items()}
    return LEAF


def event_shape(event_type: str, properties: Iterable[str] = ()) -> dict[str, Shape]:
    """An event of this type as a message sees it: `id`, `type`, `at`, its own fields and the listed properties."""
    model = _MODELS.get(event_type)
    if model is not None:
        found = {n: _shape_of(i.annotation) for n, i in model.model_fields.items() if n not in _HIDDEN}
        if event_type in _NAMED:
            found[_NAMED[event_type]] = LEAF
    else:
        found = dict(_SYSTEM.get(event_type, {"name": LEAF}))  # a shop's own (track) event: its name
    return {"id": LEAF, "type": LEAF, "at": LEAF, **found, **dict.fromkeys(properties, ANY)}


def _common(one: Shape, other: Shape) -> Shape:
    """What two shapes both provide (a flow with two triggers provides what either event has)."""
    if one == ANY:
        return other
    if other == ANY:
        return one
    if isinstance(one, dict) and isinstance(other, dict):
        return {key: _common(one[key], other[key]) for key in one.keys() & other.keys()}
    if isinstance(one, list) and isinstance(other, list):
        return [_common(one[0], other[0])]
    return LEAF


@dataclass(frozen=True)
class Provided:
    """What a flow's messages can see beyond the fixed names: the trigger event, the wait_for events."""

    event: Shape | None  # None: some trigger has no event (a date)
    event_source: str  # "cart_abandoned events", for problems
    events: dict[str, Shape] | None = field(default_factory=dict)  # None: any step may be named
    attributes: frozenset[str] | None = None  # None: attributes are not checked
    only_message_names: bool = True  # False: other names may come from elsewhere (a test send's variables)
    coupon: bool = True  # False: the send step gives no discount code (no `coupon:`)


# A template on its own, before any flow uses it: only what is wrong whatever the flow (the contact's spelling).
ANYTHING = Provided(ANY, "any event", None, None, only_message_names=False)


def provided_by(flow: Mapping[str, Any], attributes: Collection[str] | None = None) -> Provided:
    """From a flow file's mapping (as loaded from YAML): the event its triggers give, the wait_for events."""
    shapes: list[Shape | None] = []
    names: list[str] = []
    for trigger in flow.get("triggers") or ():
        kind = trigger.get("type", "event")
        if kind == "event":
            names.append(str(trigger.get("event")))
            shapes.append(event_shape(str(trigger.get("event")), trigger.get("properties") or ()))
        elif kind == "segment_entered":
            names.append("segment_entered")
            shapes.append(event_shape("segment_entered"))
        elif kind == "api":
            names.append("API enrollment")
            shapes.append(event_shape("enroll_requested", trigger.get("properties") or ()))
        else:
            names.append(f"date ({trigger.get('attribute')})")
            shapes.append(None)
    event = None if None in shapes or not shapes else reduce(_common, shapes)
    events: dict[str, Shape] = {}
    for step in flow.get("steps") or ():
        if isinstance(step, Mapping) and step.get("type") == "wait_for":
            awaited = str(step.get("event"))
            events[str(step.get("id"))] = ANY if awaited == "any" else event_shape(awaited)
    known = frozenset(attributes) if attributes is not None else None
    return Provided(event, " or ".join(f"{name} events" for name in names) or "no trigger", events, known)


@dataclass(frozen=True)
class Use:
    """One variable a Liquid source reads: its path, where, and whether a `| default:` covers it. A loop
    variable's use is read through what it loops over (`item.name` in `for item in event.items` is
    `event.items[0].name`), and `written` keeps it as written."""

    path: tuple[Any, ...]
    line: int
    defaulted: bool
    written: str | None = None

    @property
    def name(self) -> str:
        full = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in self.path).replace(".[", "[")
        return full if self.written is None else f"{self.written} ({full.replace('[0]', '[…]')})"


_ANALYSER = Environment()
_DEFAULT = re.compile(r"\|\s*default\b")
_LOOP_TAG = re.compile(r"\{%-?\s*(?:(for)\s+(\w+)\s+in\s+(\w+(?:\.\w+)*)|(endfor))\b")


@dataclass(frozen=True)
class _Loop:
    name: str
    over: tuple[Any, ...]  # what it loops over, itself read through enclosing loops
    start: int
    end: int


def _loops(source: str) -> list[_Loop]:
    """The `for` loops over a variable's path, outermost first, each with the span of its body."""
    open_loops: list[tuple[str, tuple[Any, ...], int]] = []
    loops: list[_Loop] = []
    for tag in _LOOP_TAG.finditer(source):
        if tag[1]:
            over: tuple[Any, ...] = tuple(tag[3].split("."))
            enclosing = _innermost(loops, over[0], tag.start(), open_loops)
            open_loops.append((tag[2], over if enclosing is None else (*enclosing, 0, *over[1:]), tag.end()))
        elif open_loops:
            name, over, start = open_loops.pop()
            loops.append(_Loop(name, over, start, tag.start()))
    return sorted(loops, key=lambda loop: loop.start)


def _innermost(
    loops: list[_Loop], name: str, at: int, open_loops: Sequence[tuple[str, tuple[Any, ...], int]] = ()
) -> tuple[Any, ...] | None:
    """What the loop variable `name` stands for at `at`, or None when no loop binds it there."""
    for loop_name, bound, start in reversed(open_loops):
        if loop_name == name and start <= at:
            return tuple(bound)
    inside = [loop for loop in loops if loop.name == name and loop.start <= at < loop.end]
    return inside[-1].over if inside else None


def _use(source: str, segments: tuple[Any, ...], at: int, written: str | None = None) -> Use:
    printed = source.rfind("{{", 0, at) > source.rfind("{%", 0, at)
    end = source.find("}}" if printed else "%}", at)
    covered = printed and _DEFAULT.search(source, at, end if end >= 0 else len(source)) is not None
    return Use(segments, source.count("\n", 0, at) + 1, covered, written)


def liquid_uses(source: str) -> list[Use]:
    """Every global variable `source` reads, and every use of a loop variable read through what it loops over
    (assigned names and `forloop` left out); `LiquidError` if it does not parse."""
    if "{" not in source:
        return []
    analysis = _ANALYSER.from_string(source).analyze()
    uses = [_use(source, tuple(v.segments), v.span.index) for found in analysis.globals.values() for v in found]
    loops = _loops(source)
    for name, found in analysis.variables.items():
        if not any(loop.name == name for loop in loops):
            continue
        for variable in found:
            over = _innermost(loops, name, variable.span.index)
            if over is not None and over[0] in analysis.globals:  # not over a name the template assigned
                written = ".".join(map(str, variable.segments))
                uses.append(_use(source, (*over, 0, *variable.segments[1:]), variable.span.index, written))
    return sorted(uses, key=lambda use: use.line)


def _walk(shape: Shape, path: tuple[Any, ...]) -> int | None:
    """How many segments of `path` the shape provides, or None when all of them."""
    for depth, segment in enumerate(path):
        if shape == ANY or not isinstance(segment, str | int):
            return None
        if isinstance(shape, list):
            shape = shape[0] if isinstance(segment, int) or segment in ("first", "last") else LEAF
        elif isinstance(shape, dict) and isinstance(segment, str) and segment in shape:
            shape = shape[segment]
        elif segment == "size":
            shape = LEAF
        else:
            return depth
    return None


def _shape_at(shape: Shape, path: tuple[Any, ...]) -> Shape:
    """The shape a path `_walk` accepted leads to (a list's items for an index)."""
    for segment in path:
        shape = shape[0] if isinstance(shape, list) else shape.get(segment, LEAF) if isinstance(shape, dict) else LEAF
    return shape


def _fields(shape: Shape) -> str:
    return ", ".join(sorted(shape)) if isinstance(shape, dict) else "none"


def problem(use: Use, provided: Provided) -> str | None:
    """Why a flow's message cannot rely on this variable, or None when it can (or a default covers it)."""
    if use.defaulted:
        return None
    root, rest = use.path[0], use.path[1:]
    if root == "contact":
        return _contact_problem(rest, provided)
    if root == "event":
        if provided.event is None:
            return f"{use.name}: this flow also starts on a {provided.event_source}, which has no event; add | default:"
        missing = _walk(provided.event, rest)
        if missing is None:
            return None
        fields = _fields(_shape_at(provided.event, rest[:missing]))
        return (
            f"{use.name} is not a field of {provided.event_source} ({fields}); if the event "
            "carries it, list it under the trigger's properties, or add | default:"
        )
    if root == "events":
        if provided.events is None:
            return None
        if not rest or not isinstance(rest[0], str) or rest[0] not in provided.events:
            steps = ", ".join(sorted(provided.events)) or "none"
            return f"{use.name}: events.<step> needs a wait_for step of this flow (here: {steps})"
        shape = provided.events[rest[0]]
        if _walk(shape, rest[1:]) is None:
            return None
        return f"{use.name} is not a field of what step '{rest[0]}' waits for ({_fields(shape)}); add | default:"
    if root == "coupon" and not provided.coupon:
        return f"{use.name}: this send step gives no coupon; add coupon: {{pool: …}} or {{generate: …}} to it"
    if root in _FIXED:
        return None if _walk(_FIXED[root], rest) is None else f"{use.name} does not exist ({_fields(_FIXED[root])})"
    if not provided.only_message_names:
        return None
    return f"{use.name} is not something a message of a flow sees; it sees {ROOTS}"


def _contact_problem(rest: tuple[Any, ...], provided: Provided) -> str | None:
    if not rest or not isinstance(rest[0], str):
        return None
    name = rest[0]
    if name == _ATTRIBUTES:
        attribute = rest[1] if len(rest) > 1 else None
        if not isinstance(attribute, str):
            return None
        if attribute in PROFILE_FIELDS:
            return f"contact.attributes.{attribute}: {attribute} is a profile field; write contact.{attribute}"
        if provided.attributes is not None and attribute not in provided.attributes:
            return (
                f"contact.attributes.{attribute} is not an attribute this workspace's contacts have; "
                "send it with the contact first, or add | default:"
            )
        return None
    if name not in CONTACT and name not in _SPECIAL:
        return f"contact.{name} is not a profile field; custom attributes are contact.attributes.{name}"
    return None if _walk(CONTACT, rest) is None else f"contact.{'.'.join(map(str, rest))} does not exist"


# -- sample data, for rendering a template as a flow would without a real event ------------------------

SAMPLE_LINKS = "https://sample-event.dripline.invalid/"
_SAMPLE_VALUES = {
    "price": "123.45", "value": "246.90", "revenue": "246.90", "currency": "EUR", "quantity": 2,
    "at": "2025-01-01T09:00:00Z", "interests": ["sample"],
}  # fmt: skip


def _sample(shape: Shape, path: str) -> Any:
    name = path.rsplit(".", 1)[-1]
    if name.endswith("url") or name == "url":
        return f"{SAMPLE_LINKS}{path}"
    if name in _SAMPLE_VALUES:
        return _SAMPLE_VALUES[name]
    if isinstance(shape, dict):
        return {key: _sample(inner, f"{path}.{key}") for key, inner in shape.items()}
    if isinstance(shape, list):
        return [_sample(shape[0], f"{path}.{n}") for n in range(2)]
    return f"sample-{name.replace('_', '-')}"  # a word a URL may hold as it is


def sample_context(flow: Mapping[str, Any]) -> dict[str, Any]:
    """A message's flow context with made-up values of the right shape for each event the flow provides; every
    link-like value points under `SAMPLE_LINKS`, so a link check can tell links built from data from the rest."""
    provided = provided_by(flow)
    context: dict[str, Any] = {"flow": {"id": flow.get("id"), "name": flow.get("name"), "version": 1}}
    if isinstance(provided.event, dict):
        context["event"] = _sample(provided.event, "event")
    if provided.events:
        context["events"] = {step: _sample(shape, f"events.{step}") for step, shape in provided.events.items()}
    return context


# -- where a use sits in its file ---------------------------------------------------------------------

TEMPLATE_PARTS = ("subject", "preheader", "html", "mjml", "text")


def template_parts(text: str) -> list[tuple[str, str, int]]:
    """(part, Liquid source, file line of the source's first line) of a template file's parts."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    parts = []
    for key, value in root.value:
        if key.value in TEMPLATE_PARTS and isinstance(value, yaml.ScalarNode):
            block = value.style in ("|", ">")
            parts.append((str(key.value), str(value.value), value.start_mark.line + (2 if block else 1)))
    return parts


def template_problems(text: str, provided: Provided) -> list[tuple[int, str]]:
    """(file line, reason) for every variable of a template file that `provided` cannot give."""
    found: list[tuple[int, str]] = []
    for part, source, first_line in template_parts(text):
        try:
            uses = liquid_uses(source)
        except LiquidError as error:
            found.append((first_line, f"{part}: {str(error).splitlines()[0]}"))
            continue
        for use in uses:
            reason = problem(use, provided)
            if reason is not None:
                found.append((first_line + use.line - 1, f"{part}: {reason}"))
    return sorted(set(found))


def value_problems(value: Any, provided: Provided) -> list[str]:
    """Reasons for the variables of a payload value (a string, or maps and lists of them) `provided` lacks."""
    if isinstance(value, str):
        try:
            return [reason for use in liquid_uses(value) if (reason := problem(use, provided)) is not None]
        except LiquidError as error:
            return [str(error).splitlines()[0]]
    if isinstance(value, Mapping):
        return [reason for item in value.values() for reason in value_problems(item, provided)]
    if isinstance(value, list):
        return [reason for item in value for reason in value_problems(item, provided)]
    return []
