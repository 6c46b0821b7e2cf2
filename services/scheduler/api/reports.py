"""Flow analytics as JSON: flows, one flow's funnel, A/B variants, lifecycle, entry cohorts, and their settings."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel

from services.scheduler.analytics.adapters.tables import load_settings, save_settings
from services.scheduler.analytics.domain.attribution import AnalyticsSettings
from services.scheduler.analytics.domain.lifecycle_report import LifecycleReport
from services.scheduler.analytics.domain.report_models import AbReport, CohortReport, FlowReport, FlowSummary
from services.scheduler.analytics.usecases.lifecycle_report import lifecycle_report
from services.scheduler.analytics.usecases.reports import Metric, ab_report, cohorts_report, flow_report, flows_report
from shared.api_auth import FlowsWrite, ReportsRead
from shared.consent import store as consent
from shared.consent.channels import CONSENT_CHANNELS
from shared.contract.fields import EVENT_NAME_PATTERN, ID_PATTERN

router = APIRouter(prefix="/v1/reports", tags=["reports"])


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.resources.pool
    return pool


class ChannelConsent(BaseModel):
    """How many of the workspace's contacts stand where on one channel."""

    channel: str
    subscribed: int = 0
    pending: int = 0
    unsubscribed: int = 0
    expired: int = 0


class ConsentReport(BaseModel):
    channels: list[ChannelConsent]


@router.get("/consent", response_model=ConsentReport, summary="Contacts by channel consent: email, SMS, post, web")
async def consent_report(request: Request, workspace_id: ReportsRead) -> ConsentReport:
    """A channel no contact was ever asked about is left out; email counts plain marketing consent too."""
    counts = await consent.channel_counts(_pool(request), workspace_id)
    return ConsentReport(channels=[ChannelConsent(channel=c, **counts[c]) for c in CONSENT_CHANNELS if c in counts])


@router.get("/flows", response_model=list[FlowSummary], summary="Every flow: counts, rates, revenue")
async def list_flow_reports(request: Request, workspace_id: ReportsRead) -> list[FlowSummary]:
    return await flows_report(_pool(request), workspace_id)


@router.get("/flows/{flow_id}", response_model=FlowReport, summary="One flow: funnel, days, top links, revenue")
async def get_flow_report(request: Request, workspace_id: ReportsRead, flow_id: str) -> FlowReport:
    report = await flow_report(_pool(request), workspace_id, flow_id)
    if report is None:
        raise HTTPException(404, f"no analytics for flow {flow_id}")
    return report


@router.get("/flows/{flow_id}/ab", response_model=AbReport, summary="A split's variants: rates, intervals, test")
async def get_ab_report(
    request: Request,
    workspace_id: ReportsRead,
    flow_id: str,
    metric: Metric = "opened",
    confidence: Annotated[float, Query(gt=0.5, lt=1)] = 0.95,
    step: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="The split step; defaults to the flow's first")
    ] = None,
) -> AbReport:
    report = await ab_report(
        _pool(request), workspace_id, flow_id, split_step=step, metric=metric, confidence=confidence
    )
    if not report.variants:  # no such flow in this workspace, or one without a split or data
        raise HTTPException(404, f"no A/B split with data in flow {flow_id}")
    return report


@router.get(
    "/flows/{flow_id}/lifecycle",
    response_model=LifecycleReport,
    summary="Repeat purchases by entry week, time to a second purchase, customers won back, codes redeemed",
)
async def get_lifecycle_report(
    request: Request, workspace_id: ReportsRead, flow_id: Annotated[str, Path(pattern=ID_PATTERN)]
) -> LifecycleReport:
    report = await lifecycle_report(_pool(request), workspace_id, flow_id)
    if report is None:
        raise HTTPException(404, f"nobody has entered flow {flow_id}")
    return report


@router.get("/cohorts", response_model=CohortReport, summary="Weekly entry cohorts: time to purchase and to value")
async def get_cohorts(
    request: Request,
    workspace_id: ReportsRead,
    flow: Annotated[str | None, Query(pattern=ID_PATTERN, description="Only this flow")] = None,
    value_event: Annotated[
        str | None, Query(pattern=EVENT_NAME_PATTERN, description="Defaults to the workspace's setting")
    ] = None,
) -> CohortReport:
    return await cohorts_report(_pool(request), workspace_id, flow, value_event)


@router.get("/settings", response_model=AnalyticsSettings, summary="Attribution windows and the value event")
async def get_settings(request: Request, workspace_id: ReportsRead) -> AnalyticsSettings:
    return await load_settings(_pool(request), workspace_id)


@router.put("/settings", response_model=AnalyticsSettings, summary="Change attribution windows or the value event")
async def put_settings(request: Request, workspace_id: FlowsWrite, body: AnalyticsSettings) -> AnalyticsSettings:
    await save_settings(_pool(request), workspace_id, body)
    return body
