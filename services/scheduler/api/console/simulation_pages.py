"""A flow's simulation: a sample contact and the events they cause, replayed through the engine on a
virtual clock against the flow's live version and the workspace's policy (`POST /v1/flows/{id}/simulate`),
shown as the timeline of what they would receive. Every role may run one: nothing is stored or sent."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from services.scheduler.api.console.access import PREFIX, FormSession, Session
from services.scheduler.api.console.pages import ConsoleRoute, render
from services.scheduler.api.flows import scheduler_of
from services.scheduler.domain.local_time import zone
from services.scheduler.domain.triggers import EventTrigger
from services.scheduler.usecases.simulations import SimulationRefused, run_simulation
from services.scheduler.workers.runtime import Scheduler

# Registered before the flow pages: their `/{flow_id}/{action}` would otherwise take `/simulation`.
router = APIRouter(prefix=f"{PREFIX}/flows", route_class=ConsoleRoute, include_in_schema=False)
SAMPLE_CONTACT = {"time_zone": "Europe/Oslo", "attributes": {"first_name": "Kari", "experience": "beginner"}}
MOST_DAYS = 730


async def _sample_events(scheduler: Scheduler, workspace_id: str, flow_id: str) -> str:
    """The flow's first event trigger, now: a place to start that enters the contact."""
    async with scheduler.units.pool.acquire() as connection:
        head = await scheduler.units.catalog.head(connection, workspace_id, flow_id)
        if head is None:
            raise HTTPException(404, f"this workspace has no flow {flow_id!r}")
        flow = await scheduler.units.catalog.flow(connection, workspace_id, flow_id, head.current_version)
    triggers = [t.event for t in flow.triggers if isinstance(t, EventTrigger)] if flow else []
    return json.dumps({"type": triggers[0] if triggers else "signup", "after": "0m"})


@router.get("/{flow_id}/simulation", response_class=HTMLResponse)
async def simulation_form(request: Request, session: Session, flow_id: str) -> HTMLResponse:
    events = await _sample_events(scheduler_of(request), session.workspace_id, flow_id)
    form = {"contact": json.dumps(SAMPLE_CONTACT), "events": events, "days": "60"}
    return render(request, "simulation.html", flow_id=flow_id, form=form, errors={}, result=None, rows=[])


def _read(form: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]], int, dict[str, str]]:
    """The contact (a JSON object), the events (a JSON object a line) and the days, or each field's error."""
    errors: dict[str, str] = {}
    contact: Any = {}
    try:
        contact = json.loads(form["contact"] or "{}")
        if not isinstance(contact, dict):
            errors["contact"] = 'a JSON object, e.g. {"time_zone": "Europe/Oslo"}'
    except json.JSONDecodeError as error:
        errors["contact"] = f"not JSON: {error.msg} at line {error.lineno}"
    events: list[dict[str, Any]] = []
    for number, line in enumerate(form["events"].splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as error:
            errors.setdefault("events", f"line {number} is not JSON: {error.msg}")
            continue
        if not isinstance(event, dict) or "type" not in event:
            errors.setdefault("events", f'line {number}: an object with a type, e.g. {{"type": "signup"}}')
            continue
        events.append(event)
    days = 60
    if not form["days"].isdigit() or not 1 <= int(form["days"]) <= MOST_DAYS:
        errors["days"] = f"a whole number of days from 1 to {MOST_DAYS}"
    else:
        days = int(form["days"])
    return (contact if isinstance(contact, dict) else {}), events, days, errors


@router.post("/{flow_id}/simulation", response_class=HTMLResponse)
async def run(request: Request, session: FormSession, flow_id: str) -> HTMLResponse:
    posted = await request.form()
    form = {name: str(posted.get(name) or "") for name in ("contact", "events", "days")}
    contact, events, days, errors = _read(form)
    result = None
    if not errors:
        try:
            result = await run_simulation(
                scheduler_of(request).units, session.workspace_id, flow_id, contact=contact, events=events, days=days
            )
        except LookupError as error:
            raise HTTPException(404, f"this workspace has no flow {flow_id!r}") from error
        except SimulationRefused as error:
            errors[error.field] = str(error)
    rows = []
    if result is not None:  # each moment as the contact's clock reads it
        rows = [
            (row.at.astimezone(zone(result.time_zone)).strftime("%Y-%m-%d %H:%M"), row) for row in result.timeline.rows
        ]
    status = 422 if errors else 200
    return render(
        request, "simulation.html", status, flow_id=flow_id, form=form, errors=errors, result=result, rows=rows
    )
