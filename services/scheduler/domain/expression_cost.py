"""What evaluating a condition may cost on the data at hand, bounded before it runs.

The CEL library is a Rust extension with no cost limit and no hook to stop an evaluation, and
conditions run on the scheduler's event loop. With list macros refused (`expression_limits.py`),
CEL has no loop and no variable binding: every value an evaluation builds is made of values the
condition read, and it reads `contact` or `event` (converted afresh by the library) each time it
names them. So each operation costs at most the size of all it read, and an evaluation at most

    cost = (operations + 10) × (size of each value named, summed over the times it is named)

Sizes count list items and scalars as one, map entries as ten (the library converts a map entry
ten times slower than a list item), one more per 16 characters of a string, a `history.*` call as
the contact's history. The bound is computed from the condition's text and
the data's size, before anything is evaluated; past `EVALUATION_BUDGET` the condition is refused
(the ten: converting a value when it is named costs about ten times an operation on it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .expression_limits import code_only, operation_count

__all__ = ["EVALUATION_BUDGET", "DataSizes", "Shape", "cost_problem_on", "shape_of", "size_of"]

EVALUATION_BUDGET = 2_000_000
REFERENCE_WEIGHT = 10  # the library converts a value afresh each time it is named: ten times an operation's work
_CHARS_PER_UNIT = 16
_ENTRY_WEIGHT = 10
_NESTED = frozenset({dict, list, tuple, str})
_ROOT = re.compile(r"(?<![.\w])(contact|event)\b")
_HISTORY_CALL = re.compile(r"(?<![.\w])history\s*\.\s*\w+\s*\(")


@dataclass(frozen=True, slots=True)
class Shape:
    """What a condition's text says about its cost: operations, and how often it names each value."""

    operations: int
    contact: int
    event: int
    history: int


@lru_cache(maxsize=2048)
def shape_of(source: str) -> Shape:
    code = code_only(source)
    roots = _ROOT.findall(code)
    return Shape(
        operation_count(source), roots.count("contact"), roots.count("event"), len(_HISTORY_CALL.findall(code))
    )


def size_of(value: object, cap: int) -> int:
    """Units of data in `value`, counted up to about `cap`: one per list item or scalar, ten per map entry
    (converting a map costs ten times a list), one more per 16 characters of a string."""
    size, pending = 0, [value]
    item: Any
    while pending and size <= cap:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            size += _ENTRY_WEIGHT * len(item) + 1
            items: Iterable[Any] = item.values()
        elif kind is list or kind is tuple:
            size += len(item) + 1
            items = item
        else:
            size += 1 + (len(item) // _CHARS_PER_UNIT if kind is str else 0)
            continue
        if size <= cap:
            pending.extend([v for v in items if type(v) in _NESTED])
    return size


class DataSizes:
    """The sizes of one evaluation's `contact` and `event`, measured when a condition first needs them."""

    __slots__ = ("_measured", "_values", "history")

    def __init__(self, contact: Mapping[str, Any], event: Mapping[str, Any], history: int) -> None:
        self._values = {"contact": contact, "event": event}
        self._measured: dict[str, tuple[int, int]] = {}  # name → (size, the cap it was counted to)
        self.history = history

    def size(self, name: str, cap: int) -> int:
        found = self._measured.get(name)
        if found is None or (found[0] > found[1] and cap > found[1]):
            found = (size_of(self._values[name], cap), cap)
            self._measured[name] = found
        return found[0]


def cost_problem_on(source: str, sizes: DataSizes) -> str | None:
    """Why evaluating `source` on this data could cost more than the budget, or None when it cannot."""
    shape = shape_of(source)
    factor = shape.operations + REFERENCE_WEIGHT
    room = EVALUATION_BUDGET // factor  # how much data this condition may read
    read = shape.history * sizes.history
    for name, times in (("contact", shape.contact), ("event", shape.event)):
        if times and read <= room:
            read += times * sizes.size(name, room // times + 1)
    if read <= room:
        return None
    return (
        f"expression '{source[:60]}{'…' if len(source) > 60 else ''}' is too costly to evaluate on this data: "
        f"{shape.operations} operations on {read:,} values read make more than the {EVALUATION_BUDGET:,} a condition "
        "may cost; name event or contact fewer times, or send smaller events"
    )
