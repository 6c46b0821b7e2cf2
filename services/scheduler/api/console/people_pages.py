"""People: search by email, phone or external id (through the keyed identifier hashes), a person's page, and
each message they were sent, rendered again as it was sent (its template, their profile, the message's own
variables and frozen flow context) in a sandboxed frame. Rendering is the sender's, asked with the user's role."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.scheduler.adapters.console_reads import sent_message
from services.scheduler.adapters.sender_peer import SenderRefused
from services.scheduler.api.console.access import PREFIX, Session, may, pool_of
from services.scheduler.api.console.pages import ConsoleRoute, render
from services.scheduler.api.console.reads import find_contact, person
from services.scheduler.api.console.template_pages import PREVIEW_HEADERS, peer_of, refusal

router = APIRouter(prefix=f"{PREFIX}/people", route_class=ConsoleRoute, include_in_schema=False)


@router.get("", response_model=None)
async def search(
    request: Request,
    session: Session,
    q: Annotated[str, Query(max_length=320)] = "",
    erased: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    """One match goes straight to the person's page; none says so. `erased` names who was just erased."""
    found = await find_contact(pool_of(request), session.workspace_id, q) if q.strip() else None
    if found:
        return RedirectResponse(f"{PREFIX}/people/{quote(found, safe='')}", status_code=303)
    return render(request, "people.html", q=q, searched=bool(q.strip()), erased=erased)


@router.get("/{contact_id}", response_class=HTMLResponse)
async def person_page(request: Request, session: Session, contact_id: str) -> HTMLResponse:
    found = await person(pool_of(request), session.workspace_id, contact_id)
    if found is None:
        raise HTTPException(404, "this workspace has no such contact (or they were erased)")
    return render(request, "person.html", person=found, can_answer_rights=may(session, "admin"))


async def _as_sent(request: Request, session: Session, contact_id: str, message_id: str) -> tuple[dict[str, Any], Any]:
    """The ledger's row of the message and the sender's rendering of it; 404 for a message not to this person
    in this workspace, and for a text or webhook (only emails have a body to show)."""
    async with pool_of(request).acquire() as connection:
        found = await sent_message(connection, session.workspace_id, contact_id, message_id)
    if found is None or found["channel"] != "email":
        raise HTTPException(404, "this person has no such email in this workspace")
    context = found["context"]
    body = {"contact_id": contact_id, "variables": found["variables"], "context": context,
            "locale": context.get("locale") or None}  # fmt: skip
    try:
        shown = await peer_of(request).preview(
            session.workspace_id, session.actor, session.role, found["template_id"], body
        )
    except SenderRefused as refused:
        raise refusal(refused) from refused
    return found, shown


@router.get("/{contact_id}/messages/{message_id}", response_class=HTMLResponse)
async def message_page(request: Request, session: Session, contact_id: str, message_id: str) -> HTMLResponse:
    found, shown = await _as_sent(request, session, contact_id, message_id)
    return render(request, "message.html", contact_id=contact_id, message=found, shown=shown)


@router.get("/{contact_id}/messages/{message_id}/frame.html")
async def message_frame(request: Request, session: Session, contact_id: str, message_id: str) -> Response:
    """The rendered HTML alone, for the page's sandboxed frame (the template previews' strict policy)."""
    _, shown = await _as_sent(request, session, contact_id, message_id)
    return HTMLResponse(shown["html"], headers=PREVIEW_HEADERS)
