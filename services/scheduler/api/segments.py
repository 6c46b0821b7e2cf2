"""Segments: saved conditions over attributes and behaviour, with how many contacts are in each."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from pydantic import Field

from services.scheduler.adapters.segments import delete_segment, save_segment, segment_counts
from services.scheduler.api.flows import SchedulerDep
from services.scheduler.domain import Segment
from shared.api_auth import WorkspaceDep

router = APIRouter(prefix="/v1", tags=["segments"])


class SegmentPublic(Segment):
    members: int = Field(description="Contacts in the segment now.")


@router.post("/segments", response_model=SegmentPublic, status_code=201, summary="Create or change a segment")
async def put_segment(body: Segment, workspace_id: WorkspaceDep, scheduler: SchedulerDep) -> SegmentPublic:
    """Contacts are judged against the condition whenever they change (a profile update or a new event)."""
    pool = scheduler.units.pool
    await save_segment(pool, workspace_id, body)
    [(segment, members)] = await segment_counts(pool, workspace_id, body.id)
    return SegmentPublic(**segment.model_dump(), members=members)


@router.get("/segments", response_model=list[SegmentPublic], summary="The workspace's segments and member counts")
async def list_segments(workspace_id: WorkspaceDep, scheduler: SchedulerDep) -> list[SegmentPublic]:
    found = await segment_counts(scheduler.units.pool, workspace_id)
    return [SegmentPublic(**segment.model_dump(), members=members) for segment, members in found]


@router.get("/segments/{segment_id}", response_model=SegmentPublic, summary="One segment and its member count")
async def get_segment(segment_id: str, workspace_id: WorkspaceDep, scheduler: SchedulerDep) -> SegmentPublic:
    found = await segment_counts(scheduler.units.pool, workspace_id, segment_id)
    if not found:
        raise HTTPException(404, f"no segment {segment_id!r}")
    [(segment, members)] = found
    return SegmentPublic(**segment.model_dump(), members=members)


@router.delete("/segments/{segment_id}", status_code=204, summary="Delete a segment and its membership")
async def remove_segment(segment_id: str, workspace_id: WorkspaceDep, scheduler: SchedulerDep) -> Response:
    async with scheduler.units.pool.acquire() as connection, connection.transaction():
        if not await delete_segment(connection, workspace_id, segment_id):
            raise HTTPException(404, f"no segment {segment_id!r}")
    return Response(status_code=204)
