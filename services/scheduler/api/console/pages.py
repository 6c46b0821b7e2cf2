"""Rendering: one Jinja2 environment (autoescaped), the page headers, and HTML answers for refusals."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.scheduler.adapters.console_sessions import ConsoleSession
from services.scheduler.domain.durations import format_duration

HERE = Path(__file__).resolve().parent
STYLESHEET = (HERE / "console.css").read_text(encoding="utf-8")
_ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "svg"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["duration"] = format_duration
# No scripts at all yet; styles from our own stylesheet only; forms post only here; never framed; frames
# only of our own pages (a template's preview, which has a policy of its own).
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    session: ConsoleSession | None = getattr(request.state, "console_session", None)
    html = _ENV.get_template(template).render(session=session, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


class ConsoleRoute(APIRoute):
    """Refusals as pages a person can read: 303 to sign in, 403 and 404 explained in HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as refusal:
                if refusal.status_code == 303 and refusal.headers:
                    return RedirectResponse(refusal.headers["Location"], status_code=303)
                page = render(
                    request, "refused.html", refusal.status_code, reason=refusal.detail, code=refusal.status_code
                )
                page.headers.update(refusal.headers or {})  # Retry-After of a throttled sign-in
                return page

        return answer
