"""Publishing and operating flows: publish, list, show, pause, resume, migrate, simulate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.scheduler.adapters.consent import promise_warnings
from services.scheduler.adapters.enrollments import live_per_version
from services.scheduler.adapters.flows import FlowHead
from services.scheduler.usecases.passes import arm_flow_dates, migrate_flow, resume_flow
from services.scheduler.usecases.simulations import SimulationRefused, run_simulation
from services.scheduler.workers.runtime import Scheduler
from shared.api_auth import FlowsRead, FlowsWrite
from shared.audit import record_api_change

router = APIRouter(prefix="/v1", tags=["flows"])
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")


def scheduler_of(request: Request) -> Scheduler:
    scheduler: Scheduler = request.app.state.scheduler
    return scheduler


SchedulerDep = Annotated[Scheduler, Depends(scheduler_of)]


class FlowPublic(BaseModel):
    flow_id: str
    name: str
    current_version: int
    paused: bool
    updated_at: datetime


class Published(BaseModel):
    flow_id: str
    version: int
    created: bool = Field(description="False when the source was identical to the current version")
    warnings: list[str] = Field(
        default_factory=list,
        description="What publishing allows but the workspace may not want: frequency caps that let the flow "
        "write more often than its topic promises.",
    )


class SimulationIn(BaseModel):
    contact: dict[str, Any] = Field(default_factory=dict, description="id, time_zone, attributes, tags, ...")
    events: list[dict[str, Any]] = Field(default_factory=list, description="type with at (ISO) or after (2d)")
    start: datetime | None = None
    days: int = Field(default=60, ge=1, le=730)
    version: int | None = Field(default=None, description="Defaults to the current version")


def _public(head: FlowHead) -> FlowPublic:
    return FlowPublic(
        flow_id=head.flow_id,
        name=head.name,
        current_version=head.current_version,
        paused=head.paused,
        updated_at=head.updated_at,
    )


async def _source_of(request: Request) -> tuple[str, str]:
    body = await request.body()
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        data = await request.json()
        if not isinstance(data, dict) or not isinstance(data.get("source"), str):
            raise HTTPException(422, 'send YAML, or JSON like {"source": "<flow YAML>"}')
        return data["source"], str(data.get("file") or "flow.yaml")
    return body.decode("utf-8", errors="replace"), request.headers.get("x-flow-file", "flow.yaml")


async def _head(scheduler: Scheduler, workspace_id: str, flow_id: str) -> FlowHead:
    async with scheduler.units.pool.acquire() as connection:
        head = await scheduler.units.catalog.head(connection, workspace_id, flow_id)
    if head is None:
        raise HTTPException(404, f"no flow {flow_id!r}")
    return head


@router.post(
    "/flows",
    summary="Publish a flow (YAML body, or JSON {source})",
    responses={201: {"model": Published}, 200: {"model": Published}, 422: {"description": "file, line, reason"}},
    openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}}},
)
async def publish(request: Request, workspace_id: FlowsWrite, scheduler: SchedulerDep) -> JSONResponse:
    source, file = await _source_of(request)
    async with scheduler.units.pool.acquire() as connection:
        result = await scheduler.units.catalog.publish(connection, workspace_id, source, file)
    if result.flow is None:
        problems = [{"file": p.file, "line": p.line, "reason": p.reason} for p in result.problems]
        return JSONResponse({"problems": problems}, 422)
    if result.created and any(t.type == "date" for t in result.flow.triggers):
        await arm_flow_dates(scheduler.units, scheduler.journeys, workspace_id)
    if result.created:
        await record_api_change(request, workspace_id, "flow.published", result.flow.id, version=result.flow.version)
    warnings = await promise_warnings(scheduler.units.pool, workspace_id, result.flow)
    answer = Published(flow_id=result.flow.id, version=result.flow.version, created=result.created, warnings=warnings)
    return JSONResponse(answer.model_dump(), 201 if result.created else 200)


@router.get("/flows", response_model=list[FlowPublic], summary="List flows")
async def list_flows(workspace_id: FlowsRead, scheduler: SchedulerDep) -> list[FlowPublic]:
    async with scheduler.units.pool.acquire() as connection:
        heads = await scheduler.units.catalog.heads(connection, [workspace_id])
    return [_public(head) for head in heads.get(workspace_id, [])]


@router.get("/flows/{flow_id}", summary="One flow: versions, source, live enrollments per version")
async def show_flow(flow_id: str, workspace_id: FlowsRead, scheduler: SchedulerDep) -> dict[str, Any]:
    head = await _head(scheduler, workspace_id, flow_id)
    catalog = scheduler.units.catalog
    async with scheduler.units.pool.acquire() as connection:
        versions = await catalog.versions(connection, workspace_id, flow_id)
        source = await catalog.source(connection, workspace_id, flow_id, head.current_version)
        live = await live_per_version(connection, workspace_id, flow_id)
    return {
        **_public(head).model_dump(mode="json"),
        "versions": [{"version": v["version"], "published_at": v["published_at"].isoformat()} for v in versions],
        "live_enrollments": {str(version): count for version, count in live.items()},
        "source": source,
    }


@router.post("/flows/{flow_id}/pause", response_model=FlowPublic, summary="Stop new entries and hold timers")
async def pause_flow(request: Request, flow_id: str, workspace_id: FlowsWrite, scheduler: SchedulerDep) -> FlowPublic:
    await _head(scheduler, workspace_id, flow_id)
    async with scheduler.units.pool.acquire() as connection:
        await scheduler.units.catalog.set_paused(connection, workspace_id, flow_id, True)
    await record_api_change(request, workspace_id, "flow.paused", flow_id)
    return _public(await _head(scheduler, workspace_id, flow_id))


@router.post("/flows/{flow_id}/resume", summary="Allow entries again and continue held enrollments")
async def resume(request: Request, flow_id: str, workspace_id: FlowsWrite, scheduler: SchedulerDep) -> dict[str, Any]:
    await _head(scheduler, workspace_id, flow_id)
    async with scheduler.units.pool.acquire() as connection:
        await scheduler.units.catalog.set_paused(connection, workspace_id, flow_id, False)
    await record_api_change(request, workspace_id, "flow.resumed", flow_id)
    resumed = await resume_flow(scheduler.units, scheduler.journeys, workspace_id, flow_id)
    head = await _head(scheduler, workspace_id, flow_id)
    return {**_public(head).model_dump(mode="json"), "resumed": resumed}


@router.post("/flows/{flow_id}/migrate", summary="Move in-flight contacts to the current version")
async def migrate(request: Request, flow_id: str, workspace_id: FlowsWrite, scheduler: SchedulerDep) -> dict[str, Any]:
    head = await _head(scheduler, workspace_id, flow_id)
    moved = await migrate_flow(scheduler.units, workspace_id, flow_id, head.current_version)
    await record_api_change(
        request, workspace_id, "flow.migrated", flow_id, version=head.current_version, migrated=moved
    )
    return {"flow_id": flow_id, "version": head.current_version, "migrated": moved}


@router.post("/flows/{flow_id}/simulate", summary="What one contact would receive, on a virtual clock")
async def simulate_flow(
    flow_id: str, body: SimulationIn, workspace_id: FlowsRead, scheduler: SchedulerDep
) -> dict[str, Any]:
    try:
        done = await run_simulation(
            scheduler.units, workspace_id, flow_id, contact=body.contact, events=body.events, start=body.start,
            days=body.days, version=body.version,
        )  # fmt: skip
    except LookupError as error:
        raise HTTPException(404, str(error.args[0])) from error
    except SimulationRefused as error:
        raise HTTPException(422, str(error)) from error
    return {
        "flow_id": flow_id,
        "version": done.version,
        "rows": [row.model_dump(mode="json") for row in done.timeline.rows],
        "lines": done.timeline.lines(done.time_zone),
    }
