"""A broadcast's report as JSON, beside the flows' reports: funnel, the test's decision, links and revenue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request

from services.scheduler.analytics.domain.broadcast_report import BroadcastReport
from services.scheduler.analytics.usecases.broadcast_report import broadcast_report
from services.scheduler.domain.broadcasts import ID_PATTERN
from shared.api_auth import ReportsRead

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "/broadcasts/{broadcast_id}",
    response_model=BroadcastReport,
    summary="One broadcast: funnel per variant, the test's decision, links, revenue",
)
async def get_broadcast_report(
    request: Request,
    workspace_id: ReportsRead,
    broadcast_id: Annotated[str, Path(pattern=ID_PATTERN, description="The broadcast's id")],
) -> BroadcastReport:
    report = await broadcast_report(request.app.state.resources.pool, workspace_id, broadcast_id)
    if report is None:
        raise HTTPException(404, f"no broadcast {broadcast_id}")
    return report
