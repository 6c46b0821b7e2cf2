"""Console users of the workspace, for its admins: add one (a password generated and shown once, or
given), change a role, take someone's access away. Each change is written to the audit log by user id.

Taking access away is per workspace: an admin of one shop cannot lock a person out of another; a user
left with no workspace is disabled (`dripline users disable` disables an account everywhere)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from services.scheduler.adapters.console_sessions import ConsoleSession
from services.scheduler.api.console.access import PREFIX, FormSession, Session, pool_of, require
from services.scheduler.api.console.pages import ConsoleRoute, render
from shared.audit import record_change
from shared.console_users import (
    MIN_PASSWORD,
    ROLES,
    checked_role,
    has_account,
    new_password,
    remove_from_workspace,
    role_in,
    save_user,
    set_role,
    workspace_users,
)

router = APIRouter(prefix=f"{PREFIX}/users", route_class=ConsoleRoute, include_in_schema=False)
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


async def _page(request: Request, session: ConsoleSession, status: int = 200, **shown: object) -> HTMLResponse:
    users = await workspace_users(pool_of(request), session.workspace_id)
    context: dict[str, object] = {"users": users, "roles": ROLES, "errors": {}, "typed": {}, "shown_password": None,
                                  "done": None, "min_password": MIN_PASSWORD}  # fmt: skip
    return render(request, "users.html", status, **{**context, **shown})


@router.get("", response_class=HTMLResponse)
async def users_page(request: Request, session: Session, done: str | None = None) -> HTMLResponse:
    require(session, "admin", "manage console users")
    return await _page(request, session, done=done)


def _refusals(email: str, role: str, password: str) -> dict[str, str]:
    errors = {}
    try:
        _EMAIL.validate_python(email)
    except ValidationError:
        errors["email"] = f"'{email}' is not an email address"
    if role not in ROLES:
        errors["role"] = f"choose one of {', '.join(ROLES)}"
    if password and len(password) < MIN_PASSWORD:
        errors["password"] = f"a password needs at least {MIN_PASSWORD} characters (or leave it empty for one made up)"
    return errors


@router.post("", response_model=None)
async def add_user(
    request: Request,
    session: FormSession,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form()] = "viewer",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """A new user (or a role here for someone with an account already). A made-up password is shown once."""
    require(session, "admin", "manage console users")
    email = email.strip().lower()
    errors = _refusals(email, role, password)
    if errors:
        return await _page(request, session, 422, errors=errors, typed={"email": email, "role": role})
    async with pool_of(request).acquire() as connection, connection.transaction():
        chosen = password or (None if await has_account(connection, email) else new_password())
        user_id, created = await save_user(connection, email, chosen, session.workspace_id, checked_role(role))
        await record_change(connection, session.workspace_id, actor=session.actor, via="console",
                            action="user.created" if created else "user.role_set", target=user_id,
                            detail={"role": role})  # fmt: skip
    if created and not password:
        return await _page(request, session, shown_password=(email, chosen), done="created")
    return RedirectResponse(f"{PREFIX}/users?done={'created' if created else 'role'}", status_code=303)


async def _member(request: Request, session: ConsoleSession, user_id: str) -> None:
    """404 for a user without a role in this workspace; 422 for the admin's own account (no lock-out)."""
    if await role_in(pool_of(request), user_id, session.workspace_id) is None:
        raise HTTPException(404, "this workspace has no such console user")
    if user_id == session.user_id:
        raise HTTPException(422, "you cannot change your own role or access; ask another admin")


@router.post("/{user_id}/role", response_model=None)
async def change_role(
    request: Request, session: FormSession, user_id: str, role: Annotated[str, Form()] = ""
) -> Response:
    require(session, "admin", "manage console users")
    await _member(request, session, user_id)
    if role not in ROLES:
        raise HTTPException(422, f"role: choose one of {', '.join(ROLES)}")
    async with pool_of(request).acquire() as connection, connection.transaction():
        await set_role(connection, user_id, session.workspace_id, checked_role(role))
        await record_change(connection, session.workspace_id, actor=session.actor, via="console",
                            action="user.role_set", target=user_id, detail={"role": role})  # fmt: skip
    return RedirectResponse(f"{PREFIX}/users?done=role", status_code=303)


@router.post("/{user_id}/disable", response_model=None)
async def disable(request: Request, session: FormSession, user_id: str) -> Response:
    require(session, "admin", "manage console users")
    await _member(request, session, user_id)
    async with pool_of(request).acquire() as connection, connection.transaction():
        account = await remove_from_workspace(connection, user_id, session.workspace_id)
        await record_change(connection, session.workspace_id, actor=session.actor, via="console",
                            action="user.disabled", target=user_id,
                            detail={"scope": "account" if account else "workspace"})  # fmt: skip
    return RedirectResponse(f"{PREFIX}/users?done=disabled", status_code=303)
