"""The audit log: every change made in the console or through the API, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from services.scheduler.api.console.access import PREFIX, Session, pool_of
from services.scheduler.api.console.pages import ConsoleRoute, render
from shared.audit import recent_changes

router = APIRouter(prefix=f"{PREFIX}/audit", route_class=ConsoleRoute, include_in_schema=False)
PAGE = 100


@router.get("", response_class=HTMLResponse)
async def audit_log(
    request: Request, session: Session, before: Annotated[int | None, Query(ge=1)] = None
) -> HTMLResponse:
    entries = await recent_changes(pool_of(request), session.workspace_id, before=before, limit=PAGE)
    older = entries[-1]["id"] if len(entries) == PAGE else None
    return render(request, "audit.html", entries=entries, older=older)
