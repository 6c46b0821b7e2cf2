"""Who may see and do what in the console: the session cookie, CSRF tokens on every form, roles.

A page without a live session redirects to the sign-in page; a POST without the session's CSRF token,
or by a role below the one the action needs, is answered 403 and changes nothing.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

import asyncpg
from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import Response

from services.scheduler.adapters.console_sessions import LIFETIME, ConsoleSession, load_session
from shared.console_users import Role, allows

COOKIE = "dripline_console"
LOGIN_CSRF_COOKIE = "dripline_console_login"
PREFIX = "/console"


def pool_of(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.resources.pool
    return pool


def _secure(request: Request) -> bool:
    """Cookies go over HTTPS only, except on the local stack (plain http://127.0.0.1)."""
    return str(getattr(request.app.state.settings, "environment", "production")) != "local"


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="lax", secure=_secure(request)
    )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    set_cookie(request, response, COOKIE, token, max_age=int(LIFETIME.total_seconds()))


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


async def signed_in(request: Request) -> ConsoleSession:
    session = await load_session(pool_of(request), request.cookies.get(COOKIE), datetime.now(UTC))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, "sign in first", headers={"Location": f"{PREFIX}/login?next={quote(target)}"})
    request.state.console_session = session
    return session


Session = Annotated[ConsoleSession, Depends(signed_in)]


async def checked_form(request: Request, session: Session, csrf: Annotated[str, Form()] = "") -> ConsoleSession:
    """For every POST: the form's CSRF token must be the session's."""
    if not same_token(session.csrf_token, csrf):
        raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page and try again")
    return session


FormSession = Annotated[ConsoleSession, Depends(checked_form)]


def may(session: ConsoleSession, needed: Role) -> bool:
    return allows(session.role, needed)


def require(session: ConsoleSession, needed: Role, what: str) -> None:
    if not may(session, needed):
        raise HTTPException(403, f"your role ({session.role}) may not {what}; ask an admin of {session.workspace_id}")
