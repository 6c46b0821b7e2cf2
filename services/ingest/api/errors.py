"""Error answers that name the field and the problem, and 503s that say when to retry.

Every refusal a shop can fix has one shape, `{"error": kind, "errors": [{"path", "reason"}]}`:
400 the body cannot be read (not UTF-8 JSON, broken gzip), 413 too large, 415 not JSON or an
encoding other than gzip, 422 read but wrong. Paths are JSON paths into the body (`$.contact.email`),
or `path.contact_id` / `header.content-type` for what is not in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from shared.contract.fields import PATTERN_REASONS
from shared.errors import BrokerUnavailable

RETRY_AFTER_SECONDS = 5
_OUTSIDE_BODY = ("path", "query", "header", "cookie")


class Problem(BaseModel):
    path: str = Field(description="`$.items[0].price` in the body, or `path.contact_id`, `header.content-type`.")
    reason: str


class ErrorAnswer(BaseModel):
    error: str = Field(description="invalid_body, invalid_request, body_too_large, unsupported_media_type…")
    errors: list[Problem]


class Refusal(BaseModel):
    detail: str
    errors: list[Problem] = Field(description="The header to fix: `header.authorization`.")


_DOCUMENTED: dict[int, tuple[type[BaseModel], str]] = {
    400: (ErrorAnswer, "The body cannot be read: not UTF-8 JSON, or broken gzip (`invalid_body`)."),
    401: (Refusal, "No API key, or one Dripline does not know."),
    403: (Refusal, "The API key was revoked, or lacks the scope this route needs (the answer names it)."),
    404: (ErrorAnswer, "No such contact in this workspace (`not_found`)."),
    413: (ErrorAnswer, "The body, or what its gzip unpacks to, is over the size limit; or too many events."),
    415: (ErrorAnswer, "Content-Type is not application/json, or Content-Encoding is neither gzip nor identity."),
    422: (ErrorAnswer, "A field is missing or wrong; `errors` names each (`invalid_request`)."),
    429: (Refusal, "Too many requests with this API key: retry after `Retry-After` seconds."),
    503: (ErrorAnswer, "The broker is away: nothing was accepted. Retry after `Retry-After` seconds."),
}


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, so the docs list every answer an endpoint gives."""
    return {status: {"model": _DOCUMENTED[status][0], "description": _DOCUMENTED[status][1]} for status in statuses}


# What every JSON endpoint with an API key may answer besides its success.
BODY_ANSWERS = (400, 401, 403, 413, 415, 422, 429)


def json_path(location: Sequence[int | str]) -> str:
    """`("body", "items", 0, "price")` → `$.items[0].price`; drops pydantic's union tags."""
    if location and location[0] in _OUTSIDE_BODY:
        return ".".join(str(part) for part in location)
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
        described.append({"path": json_path(location), "reason": _reason(error)})
    return described


def _reason(error: Any) -> str:
    if error.get("type") == "string_pattern_mismatch":
        reason = PATTERN_REASONS.get(str((error.get("ctx") or {}).get("pattern")))
        if reason:
            return reason
    return str(error.get("msg", "invalid"))


def unreadable(errors: Sequence[Any]) -> str | None:
    """Why the body is not JSON at all, when that is the problem (pydantic's and FastAPI's decode errors)."""
    for error in errors:
        if error.get("type") == "json_invalid":
            why = (error.get("ctx") or {}).get("error") or error.get("msg", "")
            return f"body is not valid UTF-8 JSON: {why}"
    return None


def refusal(reason: str) -> bytes:
    """A 401, 403 or 429: `detail` as every Dripline service answers, and the header it is about."""
    return orjson.dumps({"detail": reason, "errors": [{"path": "header.authorization", "reason": reason}]})


def error_body(kind: str, path: str, reason: str) -> bytes:
    return orjson.dumps({"error": kind, "errors": [{"path": path, "reason": reason}]})


def invalid_body(reason: str) -> Response:
    return Response(error_body("invalid_body", "$", reason), 400, media_type="application/json")


class NotFound(Exception):
    """Nothing under this id in this workspace: a 404 that names the path parameter."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = error.errors()
        reason = unreadable(problems)
        if reason is not None:
            return invalid_body(reason)
        return JSONResponse({"error": "invalid_request", "errors": describe(problems)}, 422)

    @app.exception_handler(HTTPException)
    async def refused(request: Request, error: HTTPException) -> Response:
        # FastAPI answers a body it failed to parse (bad UTF-8, too deep to decode) with a bare 400.
        if error.status_code == 400 and error.__cause__ is not None:
            return invalid_body(f"body is not valid UTF-8 JSON: {type(error.__cause__).__name__}")
        if error.status_code in (401, 403, 429) and isinstance(error.detail, str):
            return Response(refusal(error.detail), error.status_code, error.headers, media_type="application/json")
        return await http_exception_handler(request, error)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound) -> Response:
        body = {"error": "not_found", "detail": error.reason, "errors": [{"path": error.path, "reason": error.reason}]}
        return JSONResponse(body, 404)

    @app.exception_handler(BrokerUnavailable)
    async def broker_down(request: Request, error: BrokerUnavailable) -> JSONResponse:
        return JSONResponse(
            {
                "error": "broker_unavailable",
                "message": "Nothing was accepted; retry with the same event ids.",
                "errors": [{"path": "$", "reason": "the broker is unavailable"}],
            },
            503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


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
