"""Webhook payloads written with Liquid (`"{{ contact.first_name }} asked for a call"`), rendered per contact.

Pure: the same sandboxed environment as templates, without HTML escaping (the payload is JSON,
not HTML). A value that is not a string passes through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from liquid import BoundTemplate
from liquid.exceptions import LiquidError

from services.sender.domain.rendering.errors import MissingData, RenderError
from services.sender.domain.rendering.liquid_env import MissingValueError, check_plain, environment


@lru_cache(maxsize=1024)
def _compiled(source: str) -> BoundTemplate:
    return environment(autoescape=False, strict=False).from_string(source)


def render_payload(value: Any, scope: Mapping[str, Any], *, where: str = "payload") -> Any:
    """Render every string inside `value` (dicts and lists walked) with `scope`; `RenderError` names the key."""
    bad = check_plain(dict(scope))
    if bad is not None:
        raise RenderError("webhook", where, f"not plain data at {bad}")
    return _render(value, scope, where)


def _render(value: Any, scope: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, str):
        if "{" not in value:
            return value
        try:
            return _compiled(value).render(**scope)
        except MissingValueError as missing:
            raise MissingData("webhook", where, missing.variable) from missing
        except (LiquidError, ValueError, TypeError, LookupError) as error:
            raise RenderError("webhook", where, str(error)) from error
    if isinstance(value, dict):
        return {key: _render(item, scope, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, scope, f"{where}[{index}]") for index, item in enumerate(value)]
    return value
