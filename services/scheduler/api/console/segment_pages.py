"""Segments: each saved condition with how many contacts are in it now (the counts of `GET /v1/segments`),
and a form to write one, see how many contacts it would hold before saving (`POST /v1/segments/preview`)
and save it (`POST /v1/segments`: the backfill then judges everyone). Every role may preview; editors and
admins save, and each save is written to the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.scheduler.adapters.segment_backfills import backfill_progress, contact_count
from services.scheduler.adapters.segment_history import daily_changes
from services.scheduler.adapters.segments import save_segment, segment_counts
from services.scheduler.api.console.access import PREFIX, FormSession, Session, may, pool_of, require
from services.scheduler.api.console.pages import ConsoleRoute, render
from services.scheduler.api.flows import scheduler_of
from services.scheduler.domain import Segment
from services.scheduler.domain.segment_history import membership_by_day
from shared.audit import record_change

router = APIRouter(prefix=f"{PREFIX}/segments", route_class=ConsoleRoute, include_in_schema=False)
FIELDS = ("id", "name", "condition")
HISTORY_DAYS = 30  # within the contact history's window, which is where entries and exits are read from


@router.get("", response_class=HTMLResponse)
async def segments(request: Request, session: Session) -> HTMLResponse:
    found = await segment_counts(pool_of(request), session.workspace_id)
    return render(request, "segments.html", segments=found, can_edit=may(session, "editor"))


async def _form(
    request: Request, session: Session, form: dict[str, str], status: int = 200, **shown: object
) -> HTMLResponse:
    context: dict[str, object] = {
        "form": form, "errors": {}, "preview": None, "progress": None, "members": None, "done": None,
        "history": [], "can_edit": may(session, "editor"),
    }  # fmt: skip
    return render(request, "segment.html", status, **{**context, **shown})


@router.get("/new", response_class=HTMLResponse)
async def new_segment(request: Request, session: Session) -> HTMLResponse:
    return await _form(request, session, dict.fromkeys(FIELDS, ""))


@router.get("/{segment_id}", response_class=HTMLResponse)
async def segment_page(request: Request, session: Session, segment_id: str, done: str | None = None) -> HTMLResponse:
    pool = pool_of(request)
    found = await segment_counts(pool, session.workspace_id, segment_id)
    if not found:
        raise HTTPException(404, f"this workspace has no segment {segment_id!r}")
    [(segment, members)] = found
    progress = await backfill_progress(pool, session.workspace_id, segment.id)
    now = datetime.now(UTC)
    since = datetime.combine(now.date() - timedelta(days=HISTORY_DAYS - 1), datetime.min.time(), UTC)
    changes = await daily_changes(pool, session.workspace_id, segment.id, since)
    history = membership_by_day(members, changes, now.date(), HISTORY_DAYS)
    form = {name: str(getattr(segment, name)) for name in FIELDS}
    return await _form(request, session, form, members=members, progress=progress, done=done, history=history)


def _posted(fields: dict[str, str]) -> tuple[Segment | None, dict[str, str]]:
    """The segment the form describes, or the error of each wrong field (as the API would answer them)."""
    try:
        return Segment(**fields), {}
    except ValidationError as error:
        errors: dict[str, str] = {}
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "condition"
            errors.setdefault(field, problem["msg"].removeprefix("Value error, "))
        return None, errors


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name) or "").strip() for name in FIELDS}


@router.post("/preview", response_class=HTMLResponse)
async def preview_segment(request: Request, session: FormSession) -> HTMLResponse:
    """How many contacts the condition holds now; nothing is saved."""
    fields = await _fields(request)
    segment, errors = _posted(fields)
    if segment is None:
        return await _form(request, session, fields, 422, errors=errors)
    backfill = scheduler_of(request).timers.backfills.backfill
    members = await backfill.preview(session.workspace_id, segment)
    contacts = await contact_count(pool_of(request), session.workspace_id)
    return await _form(request, session, fields, preview={"members": members, "contacts": contacts})


@router.post("", response_model=None)
async def save(request: Request, session: FormSession) -> Response:
    """422 with the form as typed and the error beside each wrong field; else saved, audited and backfilled."""
    require(session, "editor", "save a segment")
    fields = await _fields(request)
    segment, errors = _posted(fields)
    if segment is None:
        return await _form(request, session, fields, 422, errors=errors)
    pool = pool_of(request)
    async with pool.acquire() as connection, connection.transaction():
        await save_segment(connection, session.workspace_id, segment)
        detail = {"condition": segment.condition}
        await record_change(connection, session.workspace_id, actor=session.actor, via="console",
                            action="segment.saved", target=segment.id, detail=detail)  # fmt: skip
    await scheduler_of(request).timers.backfills.start(session.workspace_id, segment.id)
    return RedirectResponse(f"{PREFIX}/segments/{segment.id}?done=saved", status_code=303)
