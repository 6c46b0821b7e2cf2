"""Limits on one render's output and running time, checked while it runs.

python-liquid bounds loop iterations and what `assign` holds, but not how much a render prints
(ten thousand iterations printing a 256 KB string are 2.6 GB) nor how long it runs (a loop of
big `append`s, `(1..100000000) | join`). The sender renders on preview, on every send and in the
daily link check, so each render gets a budget of characters and of seconds.

The time is read from a monotonic clock as the render goes, not in a thread that kills it: at
every filter call and every `_TICKS` variable lookups and assignments (a loop body with none of
them only prints literals, which the output limit bounds, and loops stop at 10,000 iterations). This
is the one clock read in the sender's domain: it decides nothing about a message, it only stops a
render that has run too long.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from io import StringIO
from typing import Any

from liquid import BoundTemplate, Token
from liquid.exceptions import OutputStreamLimitError, ResourceLimitError
from liquid.undefined import UNDEFINED

from services.sender.domain.rendering.liquid_scope import SandboxTemplate, _SandboxContext

__all__ = [
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE_ITEMS",
    "MAX_RENDER_SECONDS",
    "LimitedTemplate",
    "RenderTimeLimitError",
]

MAX_OUTPUT_CHARS = 2_000_000  # per template part; Gmail clips an email past about 100 KB
MAX_RENDER_SECONDS = 0.5  # a real template renders in milliseconds
MAX_RANGE_ITEMS = 10_000  # as many as a loop may iterate
_TICKS = 64  # cheap steps between two clock reads
clock: Callable[[], float] = time.monotonic


class RenderTimeLimitError(ResourceLimitError):
    """A render ran past its time budget."""


class _Budget:
    """The render's deadline, read from the clock every `_TICKS` ticks (or at once on `check`)."""

    __slots__ = ("_clock", "_deadline", "_ticks")

    def __init__(self, clock: Callable[[], float], seconds: float) -> None:
        self._clock = clock
        self._deadline = clock() + seconds
        self._ticks = _TICKS

    def tick(self) -> None:
        self._ticks -= 1
        if self._ticks <= 0:
            self.check()

    def check(self) -> None:
        self._ticks = _TICKS
        if self._clock() > self._deadline:
            raise RenderTimeLimitError(
                f"render time limit reached: a template may render for at most {MAX_RENDER_SECONDS:g} s",
                token=None,
            )


class _LimitedOutput(StringIO):
    """Counts characters as they are written; python-liquid's own limit encodes every write to count bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._room = limit

    def write(self, text: str) -> int:
        self._room -= len(text)
        if self._room < 0:
            raise OutputStreamLimitError(
                f"output limit reached: a template may print at most {MAX_OUTPUT_CHARS:,} characters", token=None
            )
        return StringIO.write(self, text)


def _refuse_big_range(value: object) -> None:
    if type(value) is range and len(value) > MAX_RANGE_ITEMS:
        raise ResourceLimitError(
            f"range of {len(value):,} numbers; at most {MAX_RANGE_ITEMS:,} are allowed", token=None
        )


def _bounded(function: Callable[..., object], budget: _Budget) -> Callable[..., object]:
    def bounded(left: object, *args: object, **kwargs: object) -> object:
        # Filters do a render's heavy work (join, sort, append on long strings): the clock is read at each.
        budget.check()
        _refuse_big_range(left)
        if args:
            for arg in args:
                _refuse_big_range(arg)
        return function(left, *args, **kwargs)

    return bounded


class _LimitedContext(_SandboxContext):
    """The sandbox's context, carrying the render's time budget: filters check it, lookups and assignments tick it."""

    __slots__ = ("_filters", "budget")

    def __init__(self, template: BoundTemplate, **kwargs: Any) -> None:
        super().__init__(template, **kwargs)
        parent = kwargs.get("parent_context")
        self.budget: _Budget = (
            parent.budget if isinstance(parent, _LimitedContext) else _Budget(clock, MAX_RENDER_SECONDS)
        )
        self._filters: dict[str, Callable[..., object]] = {}

    def get(self, path: list[object], *, token: Token | None, default: object = UNDEFINED) -> object:
        # Every comparison and `contains` reads a variable: a loop of them on long strings is timed too.
        self.budget.tick()
        return super().get(path, token=token, default=default)

    def filter(self, name: str, token: Token | None) -> Callable[..., object]:
        bounded = self._filters.get(name)
        if bounded is None:
            bounded = self._filters[name] = _bounded(super().filter(name, token), self.budget)
        return bounded

    def assign(self, key: str, val: Any) -> None:
        self.budget.tick()
        super().assign(key, val)


class LimitedTemplate(SandboxTemplate):
    """A sandboxed template part whose renders stop at `MAX_OUTPUT_CHARS` or `MAX_RENDER_SECONDS`."""

    context_class = _LimitedContext

    def render(self, *args: Any, **kwargs: Any) -> str:
        context = _LimitedContext(self, globals=self.make_globals(dict(*args, **kwargs)))
        buffer = _LimitedOutput(MAX_OUTPUT_CHARS)
        self.render_with_context(context, buffer)
        return buffer.getvalue()
