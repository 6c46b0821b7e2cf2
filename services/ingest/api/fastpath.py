"""POST /v1/events and /v1/events/batch answered by a small ASGI layer in front of the framework.

These are the shops' busiest calls. Routing, dependency resolution and response-model
validation cost more than the work itself, so this path reads the key, validates the
body with the same pydantic models, writes to the broker and answers — with the same
status codes and error bodies as the documented FastAPI routes, which stay for the
OpenAPI docs and every other path. A batch that does not validate in one pass goes on to
its route, which says what is wrong item by item (and takes the valid ones when partial).
The same door stands in front of both (`JsonBodies`): JSON only, gzip unpacked within the limit.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import Counter, Histogram
from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from services.ingest.api.bodies import read_body, replay
from services.ingest.api.errors import RETRY_AFTER_SECONDS, describe, error_body, refusal, unreadable
from services.ingest.api.events import batch_accepted, too_large
from services.ingest.domain.requests import CleanBatchIn, EventIn
from services.ingest.usecases.intake import Intake
from shared.api_auth import Refused, grant
from shared.errors import BrokerUnavailable
from shared.http import LATENCY, REQUESTS
from shared.workspaces import ApiKeys

ROUTE = "/v1/events"
BATCH_ROUTE = "/v1/events/batch"
SCOPE = "events:write"
_EVENT: TypeAdapter[Any] = TypeAdapter(EventIn)
_BATCH: TypeAdapter[CleanBatchIn] = TypeAdapter(CleanBatchIn)
_JSON = [(b"content-type", b"application/json")]
_UNAUTHORIZED = [*_JSON, (b"www-authenticate", b"Bearer")]
_RETRY = [*_JSON, (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
_BROKER_DOWN = orjson.dumps(
    {
        "error": "broker_unavailable",
        "message": "Nothing was accepted; retry with the same event ids.",
        "errors": [{"path": "$", "reason": "the broker is unavailable"}],
    }
)

Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]


class EventFastPath:
    def __init__(self, app: ASGIApp, state: Callable[[], Any]) -> None:
        self.app = app
        self._state = state  # the app's state, filled in by its lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in (ROUTE, BATCH_ROUTE):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = self._state()
        answer: Answer | None
        workspace_id = await _authorise(state.api_keys, scope["headers"])
        if not isinstance(workspace_id, str):
            answer = workspace_id
        else:
            raw = await read_body(receive)
            if scope["path"] == ROUTE:
                answer = await _single(state.intake, workspace_id, raw)
            else:
                answer = await _clean_batch(state, workspace_id, raw)
            if answer is None:
                await self.app(scope, replay(raw, receive), send)
                return
        status, body, headers = answer
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        _latency(scope["path"]).observe(time.perf_counter() - started)
        _requests(scope["path"], status).inc()


async def _authorise(keys: ApiKeys, headers: list[tuple[bytes, bytes]]) -> str | Answer:
    """The workspace id, or the answer that refuses the request (as `shared/api_auth.py` answers routes)."""
    granted = await grant(keys, _api_key(headers), SCOPE)
    if not isinstance(granted, Refused):
        return str(granted.workspace_id)
    if granted.status == 401:
        return 401, refusal(granted.reason), _UNAUTHORIZED
    if granted.retry_after is not None:
        return granted.status, refusal(granted.reason), [*_JSON, (b"retry-after", granted.retry_after.encode())]
    return granted.status, refusal(granted.reason), _JSON


async def _single(intake: Intake, workspace_id: str, raw: bytes) -> Answer:
    try:
        event = _EVENT.validate_json(raw)
    except ValidationError as error:
        errors = error.errors()
        reason = unreadable(errors)
        if reason is not None:
            return 400, error_body("invalid_body", "$", reason), _JSON
        problems = describe([{**e, "loc": ("body", *e["loc"])} for e in errors])
        return 422, orjson.dumps({"error": "invalid_request", "errors": problems}), _JSON
    try:
        [event_id] = await intake.accept_events(workspace_id, [event])
    except BrokerUnavailable:
        return 503, _BROKER_DOWN, _RETRY
    return 202, orjson.dumps({"event_id": event_id}), _JSON


async def _clean_batch(state: Any, workspace_id: str, raw: bytes) -> Answer | None:
    """A batch of valid events in one validation pass; None when some part is wrong (the route explains)."""
    try:
        batch = _BATCH.validate_json(raw)
    except ValidationError:
        return None
    limit: int = state.settings.ingest_max_batch
    if len(batch.events) > limit:
        return 413, too_large(limit), _JSON
    intake: Intake = state.intake
    try:
        event_ids = await intake.accept_events(workspace_id, batch.events) if batch.events else []
    except BrokerUnavailable:
        return 503, _BROKER_DOWN, _RETRY
    return 202, batch_accepted(event_ids, range(len(event_ids)), []), _JSON


@functools.cache
def _latency(route: str) -> Histogram:
    """Each labelled series looked up once (a label lookup costs more than the observation)."""
    return LATENCY.labels("ingest", route)


@functools.cache
def _requests(route: str, status: int) -> Counter:
    return REQUESTS.labels("ingest", route, str(status))


def _api_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """`Authorization: Bearer KEY` wins over `X-Api-Key: KEY`, as on every other route."""
    header_key = None
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return value[7:].strip().decode("latin-1") or None
        if name == b"x-api-key":
            header_key = value.strip().decode("latin-1") or None
    return header_key
