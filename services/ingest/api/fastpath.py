"""POST /v1/events answered by a small ASGI layer ahead of the framework stack.

This is the shops' busiest call. Routing, dependency resolution and response-model
validation cost more than the work itself, so this path reads the key, validates the
body with the same pydantic model, writes to the broker and answers — with the same
status codes and error bodies as the documented FastAPI route, which stays for the
OpenAPI docs and every other path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.ingest.api.errors import RETRY_AFTER_SECONDS, describe
from services.ingest.domain.requests import EventIn
from services.ingest.intake import Intake
from shared.errors import BrokerUnavailable
from shared.http import LATENCY, REQUESTS
from shared.workspaces import ApiKeys

ROUTE = "/v1/events"
_EVENT: TypeAdapter[Any] = TypeAdapter(EventIn)
_JSON = [(b"content-type", b"application/json")]
_UNAUTHORIZED = [*_JSON, (b"www-authenticate", b"Bearer")]
_RETRY = [*_JSON, (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
_BROKER_DOWN = orjson.dumps(
    {"error": "broker_unavailable", "message": "Nothing was accepted; retry with the same event ids."}
)


class EventFastPath:
    def __init__(self, app: ASGIApp, state: Callable[[], Any]) -> None:
        self.app = app
        self._state = state  # the app's state, filled in by its lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != ROUTE or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, body, headers = await self._answer(scope, receive)
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        LATENCY.labels("ingest", ROUTE).observe(time.perf_counter() - started)
        REQUESTS.labels("ingest", ROUTE, str(status)).inc()

    async def _answer(self, scope: Scope, receive: Receive) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        state = self._state()
        key = _api_key(scope["headers"])
        if not key:
            return 401, b'{"detail":"missing API key"}', _UNAUTHORIZED
        keys: ApiKeys = state.api_keys
        check = await keys.check(key)
        if check.workspace_id is None:
            return 401, b'{"detail":"unknown API key"}', _UNAUTHORIZED
        if check.revoked:
            return 403, b'{"detail":"this API key was revoked"}', _JSON
        raw = await _read_body(receive)
        try:
            event = _EVENT.validate_json(raw)
        except ValidationError as error:
            problems = describe([{**e, "loc": ("body", *e["loc"])} for e in error.errors()])
            return 422, orjson.dumps({"error": "invalid_request", "errors": problems}), _JSON
        intake: Intake = state.intake
        try:
            [event_id] = await intake.accept_events(check.workspace_id, [event])
        except BrokerUnavailable:
            return 503, _BROKER_DOWN, _RETRY
        return 202, orjson.dumps({"event_id": event_id}), _JSON


def _api_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """`Authorization: Bearer KEY` wins over `X-Api-Key: KEY`, as on every other route."""
    header_key = None
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return value[7:].strip().decode("latin-1") or None
        if name == b"x-api-key":
            header_key = value.strip().decode("latin-1") or None
    return header_key


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
