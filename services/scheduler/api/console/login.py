"""Signing in and out, choosing a workspace, and the stylesheet."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.scheduler.adapters.console_sessions import close_session, open_session, switch_workspace
from services.scheduler.api.console.access import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    FormSession,
    pool_of,
    same_token,
    set_cookie,
    set_session_cookie,
)
from services.scheduler.api.console.pages import HEADERS, STYLESHEET, ConsoleRoute, render
from services.scheduler.api.console.throttle import SignInThrottle
from shared.console_users import authenticate

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)


def _throttle(request: Request) -> SignInThrottle:
    throttle: SignInThrottle | None = getattr(request.app.state, "console_throttle", None)
    if throttle is None:
        throttle = request.app.state.console_throttle = SignInThrottle()
    return throttle


def _landing(next_page: str | None) -> str:
    """Only a console path: never a redirect to another site (`//evil.example` included)."""
    if next_page and next_page.startswith(f"{PREFIX}/") and not next_page.startswith("//"):
        return next_page
    return f"{PREFIX}/flows"


@router.get("")
async def home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/flows", status_code=303)


@router.get("/console.css")
async def stylesheet() -> Response:
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    page = render(request, "login.html", next=_landing(next), csrf=token, error=None)
    set_cookie(request, page, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return page


@router.post("/login", response_model=None)
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE), csrf):
        raise HTTPException(403, "the sign-in form is stale: reload the page and try again")
    throttle, now = _throttle(request), time.monotonic()
    wait = throttle.wait_before(email, now)
    if wait:
        raise HTTPException(429, f"too many failed sign-ins for {email}: try again in {wait} s",
                            headers={"Retry-After": str(wait)})  # fmt: skip
    pool = pool_of(request)
    user = await authenticate(pool, email, password)
    if user is None:
        throttle.failed(email, now)
        return render(request, "login.html", 401, next=_landing(next), csrf=csrf,
                      error="That email and password do not match an active console user.")  # fmt: skip
    throttle.succeeded(email)
    token = await open_session(pool, user.user_id, sorted(user.roles)[0], datetime.now(UTC))
    response = RedirectResponse(_landing(next), status_code=303, headers={"Cache-Control": "no-store"})
    set_session_cookie(request, response, token)
    return response


@router.post("/logout")
async def logout(request: Request, session: FormSession) -> RedirectResponse:
    await close_session(pool_of(request), request.cookies.get(COOKIE))
    response = RedirectResponse(f"{PREFIX}/login", status_code=303, headers=HEADERS)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.post("/workspace")
async def choose_workspace(
    request: Request, session: FormSession, workspace: Annotated[str, Form()]
) -> RedirectResponse:
    if workspace not in session.workspaces:
        raise HTTPException(403, f"you have no role in {workspace}")
    await switch_workspace(pool_of(request), str(request.cookies.get(COOKIE)), workspace)
    return RedirectResponse(f"{PREFIX}/flows", status_code=303)
