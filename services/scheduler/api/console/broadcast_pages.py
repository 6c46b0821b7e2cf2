"""Broadcasts: the list with status and progress, a broadcast's page, the new-broadcast form, and schedule
(a draft), pause, resume and cancel behind a confirmation. Everything goes through the code behind `/v1/broadcasts`
(`adapters/broadcasts.py`, `usecases/broadcast_commands.py`); each change is in the audit log under the
signed-in user's id, with the same action as the API writes (`broadcast.<its new state>`)."""

from __future__ import annotations

from typing import Literal, NamedTuple

import asyncpg
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.scheduler.adapters.broadcasts import StoredBroadcast, broadcast, broadcasts, create_broadcast
from services.scheduler.adapters.segments import segments_of
from services.scheduler.api.console.access import PREFIX, FormSession, Session, may, pool_of, require
from services.scheduler.api.console.broadcast_form import (
    AUDIENCES,
    CATEGORIES,
    FIELDS,
    METRICS,
    SCHEDULE_FIELDS,
    WHEN,
    broadcast_from_form,
    schedule_fields,
    schedule_from_form,
)
from services.scheduler.api.console.pages import ConsoleRoute, render
from services.scheduler.domain.broadcast_pacing import Progress
from services.scheduler.domain.broadcasts import RefusedChange, Schedule
from services.scheduler.usecases.broadcast_commands import operate, progress_of
from services.scheduler.workers.runtime import Scheduler
from shared.audit import recent_changes, record_change
from shared.published import template_ids

router = APIRouter(prefix=f"{PREFIX}/broadcasts", route_class=ConsoleRoute, include_in_schema=False)
Action = Literal["schedule", "pause", "resume", "cancel"]
CONFIRM = {
    "schedule": "The broadcast leaves the draft: it starts when the schedule says, to its audience as it is then. "
    "Until it starts you can pause or cancel it.",
    "pause": "Recipients not yet sent to wait where they are; those already sent to are not affected. "
    "Resume it to go on.",
    "resume": "The send goes on from where it stopped (or waits for its time, if it had not started).",
    "cancel": "Every recipient not yet sent to is held as “broadcast cancelled” and gets nothing. "
    "This cannot be undone.",
}
ALLOWED: dict[str, tuple[Action, ...]] = {
    "draft": ("schedule", "cancel"), "scheduled": ("pause", "cancel"), "sending": ("pause", "cancel"),
    "paused": ("resume", "cancel"),
}  # fmt: skip
LIST_LIMIT = 50
_MISSING = "this workspace has no such broadcast"


def _scheduler(request: Request) -> Scheduler:
    scheduler: Scheduler = request.app.state.scheduler
    return scheduler


class Row(NamedTuple):
    broadcast: StoredBroadcast
    progress: Progress


async def _standing(request: Request, workspace_id: str, found: StoredBroadcast) -> Row:
    """The broadcast and its progress; the per-template funnel stays in the API (`GET /v1/broadcasts/{id}`):
    it reads every requested recipient's engagement, too slow for a page of a large send."""
    scheduler = _scheduler(request)
    return Row(found, await progress_of(scheduler.units.pool, found, workspace_id, scheduler.units.clock()))


async def _found(request: Request, workspace_id: str, broadcast_id: str) -> StoredBroadcast:
    found = await broadcast(pool_of(request), workspace_id, broadcast_id)
    if found is None:
        raise HTTPException(404, _MISSING)
    return found


@router.get("", response_class=HTMLResponse)
async def list_page(request: Request, session: Session) -> HTMLResponse:
    found = await broadcasts(pool_of(request), session.workspace_id, LIST_LIMIT)
    rows = [await _standing(request, session.workspace_id, one) for one in found]
    return render(request, "broadcasts.html", rows=rows, can_create=may(session, "editor"))


async def _form_page(
    request: Request, session: Session, status: int = 200, form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    async with pool_of(request).acquire() as connection:
        segments = (await segments_of(connection, [session.workspace_id])).get(session.workspace_id, [])
        templates = await template_ids(connection, session.workspace_id)
    shown = {**dict.fromkeys(FIELDS, ""), "audience": "marketing", "when": "now", "category": "marketing",
             "metric": "opens", **(form or {})}  # fmt: skip
    return render(request, "broadcast_new.html", status, form=shown, errors=errors or {}, segments=segments,
                  templates=templates, audiences=AUDIENCES, when=WHEN, categories=CATEGORIES,
                  metrics=METRICS)  # fmt: skip


async def _segment_ids(request: Request, workspace_id: str) -> set[str]:
    async with pool_of(request).acquire() as connection:
        return {segment.id for segment in (await segments_of(connection, [workspace_id])).get(workspace_id, [])}


@router.get("/new", response_class=HTMLResponse)
async def new_form(request: Request, session: Session) -> HTMLResponse:
    require(session, "editor", "create broadcasts")
    return await _form_page(request, session)


@router.post("/new", response_model=None)
async def create(request: Request, session: FormSession) -> Response:
    """422 with the form as typed and an error beside each wrong field; else the draft is saved and, unless
    kept as a draft, scheduled, as `POST /v1/broadcasts` and `…/schedule` do."""
    require(session, "editor", "create broadcasts")
    posted = await request.form()
    form = {name: ",".join(str(value) for value in posted.getlist(name))[:2000] for name in FIELDS}
    spec, errors = broadcast_from_form(form, await _segment_ids(request, session.workspace_id))
    if spec is None:
        return await _form_page(request, session, 422, form, errors)
    scheduler = _scheduler(request)
    if not await create_broadcast(pool_of(request), session.workspace_id, spec):
        errors = {"id": f"broadcast {spec.id!r} exists and is no longer a draft: choose another id"}
        return await _form_page(request, session, 409, form, errors)
    if form["when"] != "draft":
        await _apply(request, session, spec.id, "schedule")
    else:
        async with pool_of(request).acquire() as connection:
            await _audit(connection, session, spec.id, "broadcast.draft")
    scheduler.broadcasts.wake()
    return RedirectResponse(f"{PREFIX}/broadcasts/{spec.id}", status_code=303)


@router.get("/{broadcast_id}", response_class=HTMLResponse)
async def broadcast_page(
    request: Request, session: Session, broadcast_id: str, done: str | None = None
) -> HTMLResponse:
    found = await _found(request, session.workspace_id, broadcast_id)
    stands = await _standing(request, session.workspace_id, found)
    changes = await recent_changes(pool_of(request), session.workspace_id, target=broadcast_id, limit=10)
    actions = ALLOWED.get(found.state, ()) if may(session, "editor") else ()
    return render(request, "broadcast.html", row=stands, actions=actions, changes=changes, done=done)


async def _confirm_page(
    request: Request, session: Session, broadcast_id: str, action: Action, status: int = 200,
    form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    found = await _found(request, session.workspace_id, broadcast_id)
    stands = await _standing(request, session.workspace_id, found)
    shown = {**dict.fromkeys(SCHEDULE_FIELDS, ""), **(form or schedule_fields(found.spec.schedule))}
    when = {kind: label for kind, label in WHEN.items() if kind != "draft"}
    return render(request, "broadcast_confirm.html", status, row=stands, action=action, explanation=CONFIRM[action],
                  form=shown, errors=errors or {}, when=when)  # fmt: skip


@router.get("/{broadcast_id}/{action}", response_class=HTMLResponse)
async def confirm(request: Request, session: Session, broadcast_id: str, action: Action) -> HTMLResponse:
    """Scheduling a draft offers its schedule (or now) to confirm or change, as `…/schedule` takes one."""
    require(session, "editor", f"{action} broadcasts")
    return await _confirm_page(request, session, broadcast_id, action)


async def _audit(connection: asyncpg.Connection, session: Session, broadcast_id: str, action: str) -> None:
    await record_change(connection, session.workspace_id, actor=session.actor, via="console", action=action,
                        target=broadcast_id)  # fmt: skip


async def _apply(
    request: Request, session: Session, broadcast_id: str, command: Action, schedule: Schedule | None = None
) -> str:
    scheduler = _scheduler(request)
    try:
        moved = await operate(
            scheduler.units.pool, session.workspace_id, broadcast_id, command, scheduler.units.clock(), schedule
        )
    except RefusedChange as refused:
        raise HTTPException(409, str(refused)) from refused
    if moved is None:
        raise HTTPException(404, _MISSING)
    async with pool_of(request).acquire() as connection:
        await _audit(connection, session, broadcast_id, f"broadcast.{moved.state}")
    scheduler.broadcasts.wake()
    return moved.state


@router.post("/{broadcast_id}/{action}", response_model=None)
async def change(request: Request, session: FormSession, broadcast_id: str, action: Action) -> Response:
    """Scheduling reads the schedule confirmed on the page: a wrong field is 422 with the page as typed."""
    require(session, "editor", f"{action} broadcasts")
    schedule = None
    if action == "schedule":
        posted = await request.form()
        form = {name: str(posted.get(name) or "")[:200] for name in SCHEDULE_FIELDS}
        schedule, errors = schedule_from_form(form)
        if schedule is None:
            return await _confirm_page(request, session, broadcast_id, action, 422, form, errors)
    state = await _apply(request, session, broadcast_id, action, schedule)
    return RedirectResponse(f"{PREFIX}/broadcasts/{broadcast_id}?done={state}", status_code=303)
