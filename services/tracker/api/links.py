"""The hot path: open pixels and click redirects, answered before the framework's stack.

Every open and click in every message lands here, so the tracker's app asks this first
(see `TrackerApp`): verify the token, judge person or machine, hand the encoded record
to the buffer, answer. No routing table, no request objects, no middleware, and nothing
that waits for the database or the broker. Every other request goes on to FastAPI.
"""

from __future__ import annotations

import time
from urllib.parse import quote

from prometheus_client import Counter
from starlette.types import Scope, Send

from services.tracker.adapters.buffer import EngagementBuffer
from services.tracker.api import pages
from services.tracker.domain.pixel import PIXEL_CONTENT_TYPE, TRANSPARENT_GIF
from services.tracker.usecases.hits import HitJudge, engagement, hit_event_id
from shared.tokens import KeyRing, TokenError, TokenKind

__all__ = ["LinkHits", "invalid_link_body"]

HITS = Counter("dripline_tracker_hits_total", "Opens and clicks answered", ["kind", "machine"])
INVALID = Counter("dripline_tracker_invalid_links_total", "Links refused: tampered, unknown key or wrong kind")
# Children made once: `labels()` per hit costs more than the count. `machine` reads "true" or "false".
_COUNTED = {
    (kind, machine): HITS.labels(kind, str(machine).lower()) for kind in ("open", "click") for machine in (False, True)
}

Headers = list[tuple[bytes, bytes]]
_NO_CACHE: Headers = [
    (b"cache-control", b"no-store, no-cache, must-revalidate, private, max-age=0"),
    (b"pragma", b"no-cache"),
    (b"expires", b"0"),
]
_PIXEL: Headers = [
    (b"content-type", PIXEL_CONTENT_TYPE.encode()),
    (b"content-length", str(len(TRANSPARENT_GIF)).encode()),
    *_NO_CACHE,
]
# The redirect must not leak the tracking token to the shop's analytics via Referer.
_REDIRECT: Headers = [
    (b"content-length", b"0"),
    (b"cache-control", b"no-store, private"),
    (b"referrer-policy", b"no-referrer"),
]
_INVALID = pages.invalid_link().encode()
_INVALID_HEADERS: Headers = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"content-length", str(len(_INVALID)).encode()),
    (b"cache-control", b"no-store"),
    *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pages.PAGE_HEADERS.items()),
]
# What Starlette's RedirectResponse leaves unescaped: a signed URL goes out as it was written.
_URL_SAFE = ":/%#?=@[]!$&'()*+,;~"


def invalid_link_body() -> bytes:
    return _INVALID


Answer = tuple[int, Headers, bytes]


class LinkHits:
    """`GET|HEAD /o/{token}` and `/c/{token}`; a bad token gets a 400 page, never a redirect."""

    def __init__(self, *, keys: KeyRing, judge: HitJudge, buffer: EngagementBuffer) -> None:
        self._keys = keys
        self._judge = judge
        self._buffer = buffer

    async def __call__(self, scope: Scope, send: Send) -> bool:
        """Answer a hit and return True; False for any other request, which is left untouched."""
        path: str = scope["path"]
        if len(path) < 4 or path[2] != "/" or path[0] != "/" or path[1] not in "oc":
            return False
        method: str = scope["method"]
        token = path[3:]
        if method not in ("GET", "HEAD") or "/" in token:
            return False
        if path[1] == "o":
            status, headers, body = self._open(scope, token, method)
        else:
            status, headers, body = self._click(scope, token, method)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        return True

    def _open(self, scope: Scope, token: str, method: str) -> Answer:
        try:
            claims = self._keys.verify(token, TokenKind.OPEN)
        except TokenError:
            INVALID.inc()
            return 400, _INVALID_HEADERS, _INVALID
        now = time.time()
        client = scope.get("client")
        verdict = self._judge.judge_open(
            user_agent=_user_agent(scope), method=method, client_host=client[0] if client else None
        )
        self._buffer.add(engagement(claims, "opened", verdict, event_id=hit_event_id("o", token, now), now=now))
        _COUNTED["open", verdict.machine].inc()
        return 200, _PIXEL, TRANSPARENT_GIF

    def _click(self, scope: Scope, token: str, method: str) -> Answer:
        try:
            claims = self._keys.verify(token, TokenKind.CLICK)
        except TokenError:
            INVALID.inc()
            return 400, _INVALID_HEADERS, _INVALID
        assert claims.url is not None  # verify() guarantees a safe absolute http(s) url on click tokens
        now = time.time()
        verdict = self._judge.judge_click(claims, user_agent=_user_agent(scope), method=method, now=now)
        self._buffer.add(engagement(claims, "clicked", verdict, event_id=hit_event_id("c", token, now), now=now))
        _COUNTED["click", verdict.machine].inc()
        location = quote(claims.url, safe=_URL_SAFE).encode("ascii")
        return 302, [(b"location", location), *_REDIRECT], b""


def _user_agent(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"user-agent":
            return str(value.decode("latin-1"))
    return ""
