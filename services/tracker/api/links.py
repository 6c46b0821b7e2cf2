"""The hot path: open pixels and click redirects.

Plain Starlette endpoints (no dependency injection or body parsing): verify the token,
judge person or machine, hand the record to the buffer, answer. Nothing here waits
for the database or the broker.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from services.tracker import pages
from services.tracker.adapters.buffer import EngagementBuffer
from services.tracker.domain.pixel import PIXEL_CONTENT_TYPE, TRANSPARENT_GIF
from services.tracker.hits import HitJudge, engagement, hit_event_id
from shared.tokens import KeyRing, TokenError, TokenKind

__all__ = ["invalid_link_response", "link_routes"]

_NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, private, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}
# Redirect targets must not leak the tracking token to the shop's analytics.
_REDIRECT_HEADERS = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}
_INVALID = pages.invalid_link().encode()


def invalid_link_response() -> Response:
    """400, never a redirect: a forged token must not turn us into an open redirector."""
    return HTMLResponse(_INVALID, status_code=400, headers={"Cache-Control": "no-store"})


def link_routes(keys: KeyRing, judge: HitJudge, buffer: EngagementBuffer) -> list[Route]:
    async def open_pixel(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            claims = keys.verify(token, TokenKind.OPEN)
        except TokenError:
            return invalid_link_response()
        now = datetime.now(UTC)
        verdict = judge.judge_open(
            user_agent=request.headers.get("user-agent", ""),
            method=request.method,
            client_host=request.client.host if request.client else None,
        )
        buffer.add(engagement(claims, "opened", verdict, event_id=hit_event_id("o", token, now), now=now))
        return Response(TRANSPARENT_GIF, media_type=PIXEL_CONTENT_TYPE, headers=_NO_CACHE)

    async def click(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            claims = keys.verify(token, TokenKind.CLICK)
        except TokenError:
            return invalid_link_response()
        assert claims.url is not None  # verify() guarantees a safe http(s) url on click tokens
        now = datetime.now(UTC)
        verdict = judge.judge_click(
            claims, user_agent=request.headers.get("user-agent", ""), method=request.method, now=now
        )
        buffer.add(engagement(claims, "clicked", verdict, event_id=hit_event_id("c", token, now), now=now))
        return RedirectResponse(claims.url, status_code=302, headers=_REDIRECT_HEADERS)

    return [
        Route("/o/{token}", open_pixel, methods=["GET", "HEAD"], include_in_schema=False),
        Route("/c/{token}", click, methods=["GET", "HEAD"], include_in_schema=False),
    ]
