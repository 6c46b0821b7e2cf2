"""CEL conditions: checked once when a flow is loaded, evaluated many times by the engine.

Only plain values (maps, lists, strings, numbers, timestamps) and the `history.*` closures
enter the evaluation context, so an expression can read data but never touch Python internals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

import cel

from . import history
from .contact import ContactView, Event

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
_HISTORY_CALL = re.compile(r"history\.([A-Za-z_][A-Za-z0-9_]*)\s*\(")


class ExpressionError(ValueError):
    """An expression that cannot be accepted, with a reason a marketer can act on."""


@lru_cache(maxsize=2048)
def compile_expression(source: str) -> cel.Program:
    """Parse once; raise ExpressionError naming the problem instead of the parser's wording."""
    try:
        program = cel.compile(source)
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


def attributes_used(source: str) -> set[str]:
    """Contact attributes an expression reads, for the unknown-attribute check."""
    return {dotted or quoted for dotted, quoted in _ATTRIBUTE.findall(source)}


def scope(
    contact: ContactView, event: Event | None, now: datetime, messages: Mapping[str, str] | None = None
) -> cel.Context:
    """The evaluation context: contact, event (or an empty map), now and the history helpers.

    Building it costs more than most conditions do: callers skip it when there is no condition.

    `messages` (send step id -> message id) lets `history.opened("welcome")` find this enrollment's email.
    """
    context = cel.Context(
        variables={
            "contact": contact.as_expression_value(),
            "event": event.as_expression_value() if event else {},
            "now": now,
        }
    )
    for name, function in history.functions(contact.history, now, messages).items():
        context.add_function(name, function)
    return context


def evaluate(source: str, context: cel.Context) -> Any:
    return compile_expression(source).execute(context)


def holds(source: str | None, context: cel.Context) -> bool:
    """A condition's truth. A missing one holds; one that fails to evaluate (say, on an attribute
    this contact lacks) counts as false, so bad data skips a path instead of stalling the flow."""
    if source is None:
        return True
    try:
        return evaluate(source, context) is True
    except (KeyError, TypeError, ValueError, RuntimeError, ZeroDivisionError, OverflowError):
        return False
