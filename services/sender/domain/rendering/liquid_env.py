"""The sandboxed Liquid environments every template part is compiled with.

python-liquid resolves paths by item lookup only (never ``getattr``), and contexts are
checked to hold only plain JSON-like values, so a template cannot reach Python internals.
Limits stop a runaway loop from stalling the sender.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from liquid import Environment, StrictDefaultUndefined, Undefined
from liquid.exceptions import UndefinedError

from services.sender.domain.rendering.filters import FILTERS
from services.sender.domain.rendering.render_limits import LimitedTemplate

__all__ = [
    "MAX_CONTEXT_DEPTH",
    "MissingValue",
    "MissingValueError",
    "SandboxEnvironment",
    "check_plain",
    "environment",
    "sandboxed",
]


class MissingValueError(UndefinedError):
    """A template printed a value the message does not have (`Hi {{ contact.first_name }},` for a
    contact without one). The message is not sent, rather than sent as 'Hi ,'."""

    def __init__(self, variable: str, *, token: object = None) -> None:
        super().__init__(f"{variable} is missing", token=token)  # type: ignore[arg-type]
        self.variable = variable


class MissingValue(Undefined):
    """A value the data lacks: false in `{% if %}`, empty in `{% for %}`, replaced by `| default:`,
    but printing it raises `MissingValueError` naming it."""

    __slots__ = ()

    @property
    def path(self) -> str:
        hint = self.hint or f"{self.name} is undefined"
        if hint.endswith(" is undefined"):
            return hint.removesuffix(" is undefined").strip("'")
        return f"{self.name} ({hint})"

    def __str__(self) -> str:
        raise MissingValueError(self.path, token=self.token)


MAX_CONTEXT_DEPTH = 12
_SCALARS = (str, int, float, bool, Decimal, datetime, date, type(None))
_EXACT_SCALARS = frozenset(_SCALARS)


class SandboxEnvironment(Environment):
    # The loop limit counts every iteration of a render; output and time are bounded by the
    # template class (render_limits.py), which counts characters instead of encoding every write.
    loop_iteration_limit = 10_000
    context_depth_limit = 30
    # What `assign` and `capture` may hold, checked only when they write: `append` doubling a string in
    # a loop would otherwise reach gigabytes within the iteration limit.
    local_namespace_limit = 1_000_000
    template_class = LimitedTemplate


@lru_cache(maxsize=8)
def environment(*, autoescape: bool, strict: bool, lenient: bool = False) -> Environment:
    """HTML parts autoescape contact data; subject, preheader and text must not.

    By default a missing value may be tested, looped over and defaulted, but printing it is a
    `MissingValueError` (the message is skipped, never sent with a blank). ``strict`` makes any use
    of an undefined variable an error; ``lenient`` prints it as an empty string (previews of partial
    data, the link check). ``| default:`` works on undefined values in every mode.
    """
    return sandboxed(SandboxEnvironment, autoescape=autoescape, strict=strict, lenient=lenient)


def sandboxed(kind: type[SandboxEnvironment], *, autoescape: bool, strict: bool, lenient: bool) -> Environment:
    """A new environment of ``kind`` with the sandbox's undefined, filters and tags (see ``environment``)."""
    undefined = StrictDefaultUndefined if strict else Undefined if lenient else MissingValue
    env = kind(autoescape=autoescape, undefined=undefined, strict_filters=True)
    # Tags that load other templates would need a loader, i.e. I/O; templates are self-contained.
    for tag in ("include", "render"):
        env.tags.pop(tag, None)
    env.filters.update(FILTERS)
    return env


def check_plain(value: object, path: str = "", depth: int = 0) -> str | None:
    """Return the path of the first value that is not plain data, or None if all are plain."""
    if type(value) in _EXACT_SCALARS or isinstance(value, _SCALARS):
        return None
    if depth >= MAX_CONTEXT_DEPTH:
        return path or "."
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}[{key!r}]"
            # Most leaves are plain scalars: skip building their path and the call.
            if type(item) not in _EXACT_SCALARS:
                bad = check_plain(item, f"{path}.{key}" if path else key, depth + 1)
                if bad is not None:
                    return bad
        return None
    if type(value) is list or type(value) is tuple:
        for index, item in enumerate(value):
            if type(item) not in _EXACT_SCALARS:
                bad = check_plain(item, f"{path}[{index}]", depth + 1)
                if bad is not None:
                    return bad
        return None
    return path or "."
