"""People: search by email, phone or external id (through the keyed identifier hashes), and a person's page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.scheduler.api.console.access import PREFIX, Session, may, pool_of
from services.scheduler.api.console.pages import ConsoleRoute, render
from services.scheduler.api.console.reads import find_contact, person

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
