"""Error answers that name the field and the problem, and 503s that say when to retry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from shared.errors import BrokerUnavailable

RETRY_AFTER_SECONDS = 5


def json_path(location: Sequence[int | str]) -> str:
    """`("body", "items", 0, "price")` → `$.items[0].price`; drops pydantic's union tags."""
    path = "$"
    for part in location:
        if part == "body":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        elif "[" in part:
            continue  # pydantic's validator tags, e.g. "function-after[...]"
        else:
            path += f".{part}"
    return path


def describe(errors: Sequence[Any], *, skip_union_tag: bool = True) -> list[dict[str, str]]:
    described = []
    for error in errors:
        location = list(error.get("loc", ()))
        # Discriminated unions put the event type in the path: ("body", "signup", "source").
        if skip_union_tag and len(location) > 1 and location[0] == "body" and location[1] in _EVENT_TYPES:
            location = ["body", *location[2:]]
        if error.get("type") == "union_tag_invalid":
            location.append("type")
        described.append({"path": json_path(location), "reason": str(error.get("msg", "invalid"))})
    return described


_EVENT_TYPES = {
    "signup",
    "purchase",
    "cart_updated",
    "checkout_started",
    "cart_abandoned",
    "form_submitted",
    "product_viewed",
    "document_downloaded",
    "track",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid_request", "errors": describe(error.errors())}, 422)

    @app.exception_handler(BrokerUnavailable)
    async def broker_down(request: Request, error: BrokerUnavailable) -> JSONResponse:
        return JSONResponse(
            {"error": "broker_unavailable", "message": "Nothing was accepted; retry with the same event ids."},
            503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
