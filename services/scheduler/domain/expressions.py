"""CEL conditions: checked once when a flow is loaded, evaluated many times by the engine.

Only plain values (maps, lists, strings, numbers, timestamps) and the `history.*` closures
enter the evaluation context, so an expression can read data but never touch Python internals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import cel

from . import history
from .contact import ContactView, Event
from .contact_reads import Reads, narrowed
from .expression_cost import DataSizes, cost_problem_on
from .expression_limits import cost_problem

VARIABLES = frozenset({"contact", "event", "history", "now"})
# CEL's own functions and macros; anything else named in an expression must be a history helper.
BUILTINS = frozenset(
    {"size", "has", "all", "exists", "exists_one", "map", "filter", "int", "uint", "double", "string", "bytes"}
    | {"bool", "dyn", "type", "timestamp", "duration", "contains", "startsWith", "endsWith", "matches"}
    | {"getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getHours"}
    | {"getMinutes", "getSeconds", "getMilliseconds", "min", "max"}
)
_DUNDER = re.compile(r"\b__\w*")
_ATTRIBUTE = re.compile(r"contact\.attributes(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*[\"']([^\"']+)[\"']\s*\])")
_PARSE_ERROR = re.compile(r"ERROR: <input>:\d+:\d+: (.*)")
_DAYS = re.compile(r"""duration\(\s*(["'])(\d+)([dw])\1\s*\)""")
_HISTORY_CALL = re.compile(r"history\.([A-Za-z_][A-Za-z0-9_]*)\s*\(")


class ExpressionError(ValueError):
    """An expression that cannot be accepted, with a reason a marketer can act on."""


class ConditionTooCostly(ExpressionError):
    """A condition whose evaluation on this contact and event could cost more than `EVALUATION_BUDGET`."""


@lru_cache(maxsize=2048)
def compile_expression(source: str) -> cel.Program:
    """Parse once; raise ExpressionError naming the problem instead of the parser's wording.

    The cost bounds come first: the library has no cost limit, and its parser crashes on huge input."""
    problem = cost_problem(source)
    if problem is not None:
        raise ExpressionError(problem)
    try:
        program = cel.compile(in_hours(source))
    except ValueError as error:
        found = _PARSE_ERROR.search(str(error))
        reason = found.group(1) if found else "syntax error"
        raise ExpressionError(f"expression '{source}' does not parse: {reason}") from error
    unknown = sorted(set(program.variables()) - VARIABLES)
    if unknown:
        raise ExpressionError(
            f"expression '{source}' uses {', '.join(unknown)}; only contact, event, history and now exist"
        )
    unknown = sorted(
        name
        for name in program.functions()
        if name.isidentifier() and name not in BUILTINS and name not in history.FUNCTION_NAMES
    )
    if unknown or _DUNDER.search(source):
        raise ExpressionError(
            f"expression '{source}' calls {', '.join(unknown) or 'a hidden name'}, which is not allowed"
        )
    for name in _HISTORY_CALL.findall(source):
        if name not in history.FUNCTION_NAMES:
            raise ExpressionError(
                f"history.{name} does not exist; use one of "
                + ", ".join(f"history.{n}" for n in history.FUNCTION_NAMES)
            )
    return program


def in_hours(source: str) -> str:
    """`duration('120d')` as CEL spells it (`duration('2880h')`): CEL durations stop at hours."""
    return _DAYS.sub(lambda m: f"duration({m[1]}{int(m[2]) * (24 if m[3] == 'd' else 168)}h{m[1]})", source)


def attributes_used(source: str) -> set[str]:
    """Contact attributes an expression reads, for the unknown-attribute check."""
    return {dotted or quoted for dotted, quoted in _ATTRIBUTE.findall(source)}


@dataclass(slots=True)
class ConditionScope:
    """What conditions are evaluated on, with the sizes that bound their cost and the costs refused."""

    context: cel.Context
    sizes: DataSizes
    refused: list[str] = field(default_factory=list)  # why a condition counted as false unevaluated


def scope(
    contact: ContactView,
    event: Event | None,
    now: datetime,
    messages: Mapping[str, str] | None = None,
    *,
    with_history: bool = True,
    reads: Reads | None = None,
) -> ConditionScope:
    """The evaluation context: contact, event (or an empty map), now and the history helpers.

    Building it costs more than most conditions do: callers skip it when there is no condition, and
    leave the history helpers out (`with_history=False`) for conditions that call none.

    `messages` (send step id -> message id) lets `history.opened("welcome")` find this enrollment's email.
    With `reads` (`contact_reads` of the conditions to evaluate), CEL gets only that part of the contact,
    and the cost bounds measure that part: what the library converts.
    """
    contact_value = contact.as_expression_value(now)
    event_value = event.as_expression_value() if event else {}
    given = contact_value if reads is None else narrowed(contact_value, reads)
    context = cel.Context(variables={"contact": given, "event": event_value, "now": now})
    if with_history:
        for name, function in history.functions(contact.history, now, messages).items():
            context.add_function(name, function)
    return ConditionScope(context, DataSizes(given, event_value, len(contact.history)))


def _as_scope(context: ConditionScope | cel.Context) -> ConditionScope:
    """A bare CEL context (built by hand, without `scope`) gets its sizes from its variables."""
    if isinstance(context, ConditionScope):
        return context
    values = context.variables
    return ConditionScope(context, DataSizes(values.get("contact") or {}, values.get("event") or {}, 0))


def evaluate(source: str, scope: ConditionScope | cel.Context) -> Any:
    """The condition's value; `ConditionTooCostly` (before any work) when this data could make it too costly."""
    program = compile_expression(source)
    checked = _as_scope(scope)
    problem = cost_problem_on(source, checked.sizes)
    if problem is not None:
        raise ConditionTooCostly(problem)
    return program.execute(checked.context)


def holds(source: str | None, scope: ConditionScope | cel.Context) -> bool:
    """A condition's truth. A missing one holds; one that fails to evaluate (say, on an attribute
    this contact lacks) counts as false, so bad data skips a path instead of stalling the flow.
    One too costly for this data counts as false too, its reason kept in `scope.refused`."""
    if source is None:
        return True
    try:
        return evaluate(source, scope) is True
    except ConditionTooCostly as error:
        if isinstance(scope, ConditionScope):
            scope.refused.append(str(error))
        return False
    except (KeyError, TypeError, ValueError, RuntimeError, ZeroDivisionError, OverflowError):
        return False
