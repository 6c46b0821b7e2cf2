"""Flow analytics as JSON: flows, one flow's funnel, A/B variants, entry cohorts, and their settings."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request

from services.scheduler.analytics.adapters.tables import load_settings, save_settings
from services.scheduler.analytics.domain.attribution import AnalyticsSettings
from services.scheduler.analytics.models import AbReport, CohortReport, FlowReport, FlowSummary
from services.scheduler.analytics.reports import Metric, ab_report, cohorts_report, flow_report, flows_report
from shared.api_auth import WorkspaceDep

router = APIRouter(prefix="/v1/reports", tags=["reports"])


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.resources.pool
    return pool


@router.get("/flows", response_model=list[FlowSummary], summary="Every flow: counts, rates, revenue")
async def list_flow_reports(request: Request, workspace_id: WorkspaceDep) -> list[FlowSummary]:
    return await flows_report(_pool(request), workspace_id)


@router.get("/flows/{flow_id}", response_model=FlowReport, summary="One flow: funnel, days, top links, revenue")
async def get_flow_report(request: Request, workspace_id: WorkspaceDep, flow_id: str) -> FlowReport:
    report = await flow_report(_pool(request), workspace_id, flow_id)
    if report is None:
        raise HTTPException(404, f"no analytics for flow {flow_id}")
    return report


@router.get("/flows/{flow_id}/ab", response_model=AbReport, summary="A split's variants: rates, intervals, test")
async def get_ab_report(
    request: Request,
    workspace_id: WorkspaceDep,
    flow_id: str,
    metric: Metric = "opened",
    confidence: Annotated[float, Query(gt=0.5, lt=1)] = 0.95,
    step: Annotated[str | None, Query(description="The split step; defaults to the flow's first")] = None,
) -> AbReport:
    return await ab_report(_pool(request), workspace_id, flow_id, split_step=step, metric=metric, confidence=confidence)


@router.get("/cohorts", response_model=CohortReport, summary="Weekly entry cohorts: time to purchase and to value")
async def get_cohorts(
    request: Request,
    workspace_id: WorkspaceDep,
    flow: Annotated[str | None, Query(description="Only this flow")] = None,
    value_event: Annotated[str | None, Query(description="Defaults to the workspace's setting")] = None,
) -> CohortReport:
    return await cohorts_report(_pool(request), workspace_id, flow, value_event)


@router.get("/settings", response_model=AnalyticsSettings, summary="Attribution windows and the value event")
async def get_settings(request: Request, workspace_id: WorkspaceDep) -> AnalyticsSettings:
    return await load_settings(_pool(request), workspace_id)


@router.put("/settings", response_model=AnalyticsSettings, summary="Change attribution windows or the value event")
async def put_settings(request: Request, workspace_id: WorkspaceDep, body: AnalyticsSettings) -> AnalyticsSettings:
    await save_settings(_pool(request), workspace_id, body)
    return body
