"""Variable lookup and loop scopes for the sandboxed templates, minus python-liquid's overhead.

python-liquid finds a name by trying each namespace in turn and catching ``KeyError``
on every miss (a top-level name inside a loop misses three times), and enters each loop
through two generator context managers. These classes give the same answers by asking
each namespace with ``get``, reading plain dicts directly and entering loops with one
small object; every other lookup (``size``, ``first``, ``last``, lists, strings) still
goes through python-liquid, so what a template can reach is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from liquid import BoundTemplate, RenderContext, Token
from liquid.builtin.tags.for_tag import ForLoop
from liquid.builtin.tags.tablerow_tag import TableRow
from liquid.exceptions import ContextDepthError
from liquid.undefined import UNDEFINED
from liquid.utils import ReadOnlyChainMap

__all__ = ["SandboxTemplate"]

_MISSING = object()
_SPECIAL_KEYS = frozenset(("size", "first", "last"))


class _Scope(ReadOnlyChainMap):
    """Namespaces searched in order, like python-liquid's, asking each with ``get``."""

    def __getitem__(self, key: str) -> object:
        for namespace in self._maps:
            value = namespace.get(key, _MISSING)
            if value is not _MISSING:
                return value
        raise KeyError(key)

    def get(self, key: str, default: object = None) -> object:
        for namespace in self._maps:
            value = namespace.get(key, _MISSING)
            if value is not _MISSING:
                return value
        return default


class _LoopExit:
    """Leaves a loop's scope: what ``RenderContext.loop`` and ``extend`` do on exit."""

    __slots__ = ("_context",)

    def __init__(self, context: RenderContext) -> None:
        self._context = context

    def __enter__(self) -> RenderContext:
        return self._context

    def __exit__(self, *_: object) -> None:
        self._context.scope.pop()
        self._context.loops.pop()


class _SandboxContext(RenderContext):
    __slots__ = ()

    def __init__(self, template: BoundTemplate, **kwargs: Any) -> None:
        super().__init__(template, **kwargs)
        self.scope = _Scope(*self.scope._maps)

    def get(self, path: list[object], *, token: Token | None, default: object = UNDEFINED) -> object:
        # The common case, a name in scope and keys that exist, without python-liquid's
        # iterator and handlers; anything else is answered by python-liquid itself.
        root = path[0]
        obj = self.scope.get(root, _MISSING) if type(root) is str else _MISSING
        if obj is _MISSING:
            return super().get(path, token=token, default=default)
        try:
            for segment in path[1:]:
                obj = self.get_item(obj, segment)
        except (KeyError, TypeError, IndexError):
            return super().get(path, token=token, default=default)
        return obj

    def loop(  # type: ignore[override]  # any context manager will do for the `with` in the for tag
        self, namespace: Mapping[str, object], forloop: ForLoop | TableRow
    ) -> AbstractContextManager[RenderContext]:
        # The checks of python-liquid's `loop` and `extend`, in one call instead of two generators.
        self.raise_for_loop_limit(forloop.length)
        if self.scope.size() > self.env.context_depth_limit:
            raise ContextDepthError("maximum context depth reached, possible recursive include", token=None)
        self.loops.append(forloop)
        self.scope.push(namespace)
        return _LoopExit(self)

    def get_item(self, obj: Any, key: Any) -> Any:
        # Contexts hold only plain data (see ``check_plain``): most steps are a dict key.
        if type(obj) is dict and type(key) is str and key not in _SPECIAL_KEYS:
            return obj[key]
        return super().get_item(obj, key)


class SandboxTemplate(BoundTemplate):
    """A compiled template part whose renders look variables up with ``_Scope``."""

    context_class = _SandboxContext

    def make_globals(self, render_args: Mapping[str, object]) -> Mapping[str, object]:
        return _Scope(render_args, self.matter, self.globals)
