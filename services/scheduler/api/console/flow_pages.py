"""Flows: the list with live counts, one flow's map, its versions and their differences, pause and resume."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.scheduler.adapters.console_reads import (
    conversions_by_goal,
    held_by_step,
    held_reasons,
    waiting_by_step,
)
from services.scheduler.adapters.enrollments import live_per_version
from services.scheduler.adapters.flows import FlowHead
from services.scheduler.analytics.domain.report_models import Counts
from services.scheduler.analytics.usecases.reports import flow_report
from services.scheduler.api.console.access import PREFIX, FormSession, Session, may, pool_of, require
from services.scheduler.api.console.flow_map import lay_out
from services.scheduler.api.console.pages import ConsoleRoute, render
from services.scheduler.api.console.reads import flow_rows
from services.scheduler.usecases.passes import migrate_flow, resume_flow
from services.scheduler.workers.runtime import Scheduler
from shared.audit import recent_changes, record_change

router = APIRouter(prefix=f"{PREFIX}/flows", route_class=ConsoleRoute, include_in_schema=False)
Action = Literal["pause", "resume", "migrate"]
CONFIRM = {
    "pause": "New contacts stop entering and every contact in the flow is held where they are; "
    "their timers wait until you resume it.",
    "resume": "New contacts enter again, and contacts held while the flow was paused go on from where they are.",
    "migrate": "Contacts still in an older version move to the live one where their step still exists as the "
    "same kind of step; the others finish the version they are in.",
}
_AUDITED = {"pause": "flow.paused", "resume": "flow.resumed", "migrate": "flow.migrated"}


def _scheduler(request: Request) -> Scheduler:
    scheduler: Scheduler = request.app.state.scheduler
    return scheduler


async def _head(scheduler: Scheduler, workspace_id: str, flow_id: str) -> FlowHead:
    async with scheduler.units.pool.acquire() as connection:
        head = await scheduler.units.catalog.head(connection, workspace_id, flow_id)
    if head is None:
        raise HTTPException(404, f"this workspace has no flow {flow_id!r}")
    return head


@router.get("", response_class=HTMLResponse)
async def flows(request: Request, session: Session) -> HTMLResponse:
    rows = await flow_rows(_scheduler(request), session.workspace_id, datetime.now(UTC).date())
    return render(request, "flows.html", rows=rows)


@router.get("/{flow_id}", response_class=HTMLResponse)
async def flow_page(
    request: Request, session: Session, flow_id: str, done: str | None = None, moved: int | None = None
) -> HTMLResponse:
    scheduler = _scheduler(request)
    head = await _head(scheduler, session.workspace_id, flow_id)
    async with scheduler.units.pool.acquire() as connection:
        flow = await scheduler.units.catalog.flow(connection, session.workspace_id, flow_id, head.current_version)
        versions = await scheduler.units.catalog.versions(connection, session.workspace_id, flow_id)
    report = await flow_report(pool_of(request), session.workspace_id, flow_id)
    counts = {row.step_id: row.counts for row in report.steps} if report else {}
    waiting = await waiting_by_step(pool_of(request), session.workspace_id, flow_id)
    held_now = await held_by_step(pool_of(request), session.workspace_id, flow_id)
    reasons = await held_reasons(pool_of(request), session.workspace_id, flow_id)
    by_goal = await conversions_by_goal(pool_of(request), session.workspace_id, flow_id)
    goals = [(goal.id, goal.event, by_goal.get(goal.id, 0)) for goal in flow.goals] if flow else []
    summary = report.summary.counts if report else Counts()
    held_for: dict[str, list[tuple[str, int]]] = {}
    for row in reasons:  # most first, as the query orders them
        held_for.setdefault(row["step_id"], []).append((row["reason"], row["n"]))
    drawn = lay_out(flow, counts, waiting, summary.goal_reached, held_now, held_for) if flow else None
    changes = await recent_changes(pool_of(request), session.workspace_id, target=flow_id, limit=10)
    return render(request, "flow.html", head=head, map=drawn, summary=summary, versions=versions, done=done,
                  changes=changes, can_change=may(session, "editor"), moved=moved, held=reasons,
                  goals=goals)  # fmt: skip


@router.get("/{flow_id}/versions/{version}", response_class=HTMLResponse)
async def version_diff(request: Request, session: Session, flow_id: str, version: int) -> HTMLResponse:
    """A version's source beside the one before it, as a unified diff a person can read."""
    scheduler = _scheduler(request)
    await _head(scheduler, session.workspace_id, flow_id)
    async with scheduler.units.pool.acquire() as connection:
        source = await scheduler.units.catalog.source(connection, session.workspace_id, flow_id, version)
        before = await scheduler.units.catalog.source(connection, session.workspace_id, flow_id, version - 1)
    if source is None:
        raise HTTPException(404, f"flow {flow_id!r} has no version {version}")
    old_name = f"v{version - 1}" if before else "nothing"
    lines = list(
        difflib.unified_diff((before or "").splitlines(), source.splitlines(), old_name, f"v{version}", lineterm="")
    )
    return render(request, "version.html", flow_id=flow_id, version=version, lines=lines, source=source)


@router.get("/{flow_id}/{action}", response_class=HTMLResponse)
async def confirm(request: Request, session: Session, flow_id: str, action: Action) -> HTMLResponse:
    require(session, "editor", f"{action} flows")
    scheduler = _scheduler(request)
    head = await _head(scheduler, session.workspace_id, flow_id)
    async with scheduler.units.pool.acquire() as connection:
        live = await live_per_version(connection, session.workspace_id, flow_id)
    older = {version: n for version, n in live.items() if version < head.current_version}
    return render(request, "confirm.html", head=head, action=action, explanation=CONFIRM[action], older=older)


@router.post("/{flow_id}/{action}")
async def change(request: Request, session: FormSession, flow_id: str, action: Action) -> RedirectResponse:
    """Pause or resume, and its audit entry, in one transaction; resuming then lets held contacts go on.
    Migrating moves contacts through the same code as `POST /v1/flows/{id}/migrate`, then writes the entry
    with how many moved."""
    require(session, "editor", f"{action} flows")
    scheduler = _scheduler(request)
    head = await _head(scheduler, session.workspace_id, flow_id)
    detail: dict[str, object] = {"version": head.current_version}
    if action == "migrate":
        detail["migrated"] = await migrate_flow(scheduler.units, session.workspace_id, flow_id, head.current_version)
    async with scheduler.units.pool.acquire() as connection, connection.transaction():
        if action != "migrate":
            await scheduler.units.catalog.set_paused(connection, session.workspace_id, flow_id, action == "pause")
        await record_change(connection, session.workspace_id, actor=session.actor, via="console",
                            action=_AUDITED[action], target=flow_id, detail=detail)  # fmt: skip
    if action == "resume":
        await resume_flow(scheduler.units, scheduler.journeys, session.workspace_id, flow_id)
    done = {"pause": "paused", "resume": "resumed", "migrate": "migrated"}[action]
    moved = f"&moved={detail['migrated']}" if action == "migrate" else ""
    return RedirectResponse(f"{PREFIX}/flows/{flow_id}?done={done}{moved}", status_code=303)
