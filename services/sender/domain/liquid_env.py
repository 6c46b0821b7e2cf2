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

from services.sender.domain.filters import FILTERS
from services.sender.domain.liquid_scope import SandboxTemplate

__all__ = ["MAX_CONTEXT_DEPTH", "check_plain", "environment"]

MAX_CONTEXT_DEPTH = 12
_SCALARS = (str, int, float, bool, Decimal, datetime, date, type(None))
_EXACT_SCALARS = frozenset(_SCALARS)


class _SandboxEnvironment(Environment):
    # The loop limit counts every iteration of a render, so it also bounds output size;
    # python-liquid's own output limit would wrap every write and halve render speed.
    loop_iteration_limit = 10_000
    context_depth_limit = 30
    template_class = SandboxTemplate


@lru_cache(maxsize=4)
def environment(*, autoescape: bool, strict: bool) -> Environment:
    """HTML parts autoescape contact data; subject, preheader and text must not.

    ``strict`` makes an undefined variable a render error instead of an empty string;
    ``| default:`` still works on undefined values either way.
    """
    env = _SandboxEnvironment(
        autoescape=autoescape,
        undefined=StrictDefaultUndefined if strict else Undefined,
        strict_filters=True,
    )
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
