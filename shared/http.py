"""What every service's HTTP app has: /healthz, /readyz, /metrics, request metrics, body limits and the
operations port."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Mapping

import orjson
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ReadinessCheck = Callable[[], Awaitable[None]]
LoopStates = Callable[[], Mapping[str, str]]

REQUESTS = Counter("dripline_http_requests_total", "HTTP requests", ["service", "route", "status"])
LATENCY = Histogram(
    "dripline_http_request_seconds",
    "HTTP request latency",
    ["service", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def operations_router(
    service: str, checks: Mapping[str, ReadinessCheck], loops: LoopStates | None = None, *, metrics: bool = True
) -> APIRouter:
    """Probes for Kubernetes and the local supervisor, and (unless `metrics` is off) the Prometheus endpoint.

    `loops` gives each supervised loop's state ("ok" or what is wrong); any other state is not ready.
    """
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/readyz", summary="The service can reach what it depends on and its loops run")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), 2.0)
                results[name] = "ok"
            except Exception as error:  # noqa: BLE001 - any failure means not ready; the reason is reported
                results[name] = f"unavailable: {type(error).__name__}"
        states = dict(loops()) if loops is not None else {}
        ready = all(value == "ok" for value in (*results.values(), *states.values()))
        body = {"ready": ready, "service": service, "checks": results, "loops": states}
        return JSONResponse(body, 200 if ready else 503)

    if metrics:

        @router.get("/metrics", include_in_schema=False)
        async def prometheus() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class RequestMetrics:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path).

    Requests are labelled by route template, not raw path, so label sets stay bounded.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            LATENCY.labels(self.service, template).observe(time.perf_counter() - started)
            REQUESTS.labels(self.service, template, str(status)).inc()


def instrument(app: FastAPI, service: str) -> None:
    app.add_middleware(RequestMetrics, service=service)


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes the limit. An HTTPException, because FastAPI
    lets those out of body parsing and turns anything else into a 400."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body is larger than {max_bytes} bytes", headers={"Connection": "close"})


class BodyLimit:
    """Answers 413 to bodies over `max_bytes`: at once when Content-Length says so, and as soon as a
    streamed (chunked) body passes it; the app never sees more than `max_bytes`.

    The 413 goes out from here, whatever the app would answer to the cut body, and closes the
    connection. Before closing, the rest of the body is read and dropped for a moment (at most
    `LINGER_BYTES` or `LINGER_SECONDS`, as nginx's lingering close): a client still uploading would
    otherwise get a reset that can wipe the 413 before it reads it. A limit inside another that is no
    larger is skipped, so a service may put its own in front of the shared one.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(_LIMITED, math.inf) <= self.max_bytes:
            await self.app(scope, receive, send)
            return
        scope[_LIMITED] = self.max_bytes
        declared: int | None = None
        streamed = False
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit():
                declared = int(value)
            elif name == b"transfer-encoding":
                streamed = True
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        if declared is not None and not streamed:
            # The server reads no more than Content-Length announces: nothing to count (and no wrappers
            # around every receive and send of the busiest routes).
            await self.app(scope, receive, send)
            return
        seen, started, answered = 0, False, False

        async def counted() -> Message:
            nonlocal seen, answered
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                if not started and not answered:
                    answered = True
                    await self._refuse(scope, receive, send, more=message.get("more_body", False))
                raise BodyTooLarge(self.max_bytes)
            return message

        async def send_unless_answered(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the app's answer to the cut body: the 413 went out already
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, send_unless_answered)
        except BodyTooLarge:
            if not answered:
                raise

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, more: bool = True) -> None:
        reason = f"request body is larger than {self.max_bytes} bytes"
        body = orjson.dumps({"error": "body_too_large", "detail": reason, "errors": [{"path": "$", "reason": reason}]})
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": True})
        # A client that waits for "100 Continue" has sent nothing: reading would invite the body.
        if more and (b"expect", b"100-continue") not in scope["headers"]:
            await _drop_rest(receive)
        await send({"type": "http.response.body", "body": b""})


LINGER_SECONDS = 2.0
LINGER_BYTES = 8 * 1024 * 1024


async def _drop_rest(receive: Receive) -> None:
    dropped = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LINGER_SECONDS):
            while dropped < LINGER_BYTES:
                message = await receive()
                dropped += len(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return


# The scope key where the tightest body limit around a request is noted.
_LIMITED = "dripline.body_limit"


class OperationsPort:
    """Answers 404 for operations paths (/metrics, the API docs) asked anywhere but `port`, so they can
    stay off the public port while Prometheus and people inside reach them on a second one."""

    def __init__(self, app: ASGIApp, port: int, paths: frozenset[str]) -> None:
        self.app, self.port, self.paths = app, port, paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths and (scope.get("server") or ("", 0))[1] != self.port:
            await JSONResponse({"detail": "Not Found"}, 404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def operations_paths(app: FastAPI) -> frozenset[str]:
    """/metrics and wherever the app serves its OpenAPI description and pages."""
    docs = [app.openapi_url, app.docs_url, app.redoc_url]
    if app.docs_url and app.swagger_ui_oauth2_redirect_url:
        docs.append(app.swagger_ui_oauth2_redirect_url)
    return frozenset(["/metrics", *(path for path in docs if path)])
