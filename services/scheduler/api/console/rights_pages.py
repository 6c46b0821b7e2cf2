"""A person's export and erasure from their page: admins only, behind a confirmation, through the same code
as the API's `GET /v1/contacts/{id}/export` and `DELETE /v1/contacts/{id}` (`shared/contact_rights.py`),
each written to the audit log under the signed-in user's id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.scheduler.api.console.access import PREFIX, FormSession, Session, pool_of, require
from services.scheduler.api.console.pages import HEADERS, ConsoleRoute, render
from services.scheduler.api.console.reads import person
from services.scheduler.workers.runtime import Scheduler
from shared.console_users import Role
from shared.contact_rights import erase_recorded, erasure_records, export_recorded
from shared.outbox import enqueue

router = APIRouter(prefix=f"{PREFIX}/people", route_class=ConsoleRoute, include_in_schema=False)
Right = Literal["export", "erase"]
# Exporting hands out everything held about a person and erasing cannot be undone: both are a data
# protection duty, so both are the admin's (editors run flows).
NEEDED: Role = "admin"
CONFIRM = {
    "export": "You download one JSON document with everything Dripline holds about this person: profile, "
    "consent and its evidence, subscriptions, flows, messages, engagement and history. It is written to the "
    "audit log under your name.",
    "erase": "Their profile, identifiers, consent details, flows, timers, messages and history are removed in "
    "every table, their flows end, and only hashed suppressions stay so they are never mailed or recreated. "
    "This cannot be undone. It is written to the audit log under your name.",
}
_MISSING = "this workspace has no such contact (or they were erased)"


@router.get("/{contact_id}/{right}", response_class=HTMLResponse)
async def confirm(request: Request, session: Session, contact_id: str, right: Right) -> HTMLResponse:
    require(session, NEEDED, f"{right} contacts")
    found = await person(pool_of(request), session.workspace_id, contact_id, limit=1)
    if found is None:
        raise HTTPException(404, _MISSING)
    return render(request, "person_confirm.html", person=found, right=right, explanation=CONFIRM[right])


@router.post("/{contact_id}/export")
async def export(request: Request, session: FormSession, contact_id: str) -> Response:
    """The export as a download, its audit entry written first."""
    require(session, NEEDED, "export contacts")
    async with pool_of(request).acquire() as connection, connection.transaction():
        document = await export_recorded(
            connection, session.workspace_id, contact_id, actor=session.actor, via="console"
        )
    if document is None:
        raise HTTPException(404, _MISSING)
    filename = "contact-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in contact_id) + ".json"
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    body = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    return Response(body, media_type="application/json", headers=headers)


@router.post("/{contact_id}/erase")
async def erase(request: Request, session: FormSession, contact_id: str) -> RedirectResponse:
    """Erasure, its audit entry and the tombstone and notice for the bus, in one transaction (the outbox)."""
    require(session, NEEDED, "erase contacts")
    scheduler: Scheduler = request.app.state.scheduler
    async with pool_of(request).acquire() as connection, connection.transaction():
        removed = await erase_recorded(connection, session.workspace_id, contact_id, actor=session.actor,
                                       via="console")  # fmt: skip
        if removed is not None:
            await enqueue(connection, erasure_records(session.workspace_id, contact_id, datetime.now(UTC)))
    if removed is None:
        raise HTTPException(404, _MISSING)
    scheduler.relay.notify()
    return RedirectResponse(f"{PREFIX}/people?erased={quote(contact_id, safe='')}", status_code=303)
