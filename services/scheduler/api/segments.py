"""Segments: saved conditions over attributes, facts and behaviour, with how many contacts are in each,
the backfill that judges everyone when one is saved, and a count preview before saving."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from services.scheduler.adapters.segment_backfills import backfill_progress, contact_count
from services.scheduler.adapters.segments import delete_segment, save_segment, segment_counts
from services.scheduler.api.flows import SchedulerDep
from services.scheduler.domain import Segment
from shared.api_auth import FlowsRead, FlowsWrite

router = APIRouter(prefix="/v1", tags=["segments"])


class BackfillPublic(BaseModel):
    total: int = Field(description="Contacts of the workspace when the backfill started.")
    done: int = Field(description="Contacts judged so far.")
    started_at: datetime
    finished_at: datetime | None = Field(description="Empty while it runs.")


class SegmentPublic(Segment):
    members: int = Field(description="Contacts in the segment now.")
    backfill: BackfillPublic | None = Field(default=None, description="The last backfill's progress.")


class PreviewPublic(BaseModel):
    members: int = Field(description="Contacts the condition holds for now.")
    contacts: int = Field(description="Contacts of the workspace.")


async def _public(scheduler: SchedulerDep, workspace_id: str, segment: Segment, members: int) -> SegmentPublic:
    progress = await backfill_progress(scheduler.units.pool, workspace_id, segment.id)
    backfill = BackfillPublic(**progress.__dict__) if progress else None
    return SegmentPublic(**segment.model_dump(), members=members, backfill=backfill)


@router.post("/segments", response_model=SegmentPublic, status_code=201, summary="Create or change a segment")
async def put_segment(body: Segment, workspace_id: FlowsWrite, scheduler: SchedulerDep) -> SegmentPublic:
    """Saving starts a backfill that judges every contact of the workspace in the background (its progress
    is `backfill`); after that, contacts are judged whenever they change, and a condition with `now` in it
    again at the instant its verdict can flip."""
    pool = scheduler.units.pool
    await save_segment(pool, workspace_id, body)
    await scheduler.timers.backfills.start(workspace_id, body.id)
    [(segment, members)] = await segment_counts(pool, workspace_id, body.id)
    return await _public(scheduler, workspace_id, segment, members)


@router.post("/segments/preview", response_model=PreviewPublic, summary="How many contacts a condition holds now")
async def preview_segment(body: Segment, workspace_id: FlowsRead, scheduler: SchedulerDep) -> PreviewPublic:
    """Judges every contact of the workspace and saves nothing (seconds for 100,000 contacts)."""
    backfill = scheduler.timers.backfills.backfill
    members = await backfill.preview(workspace_id, body)
    return PreviewPublic(members=members, contacts=await contact_count(scheduler.units.pool, workspace_id))


@router.get("/segments", response_model=list[SegmentPublic], summary="The workspace's segments and member counts")
async def list_segments(workspace_id: FlowsRead, scheduler: SchedulerDep) -> list[SegmentPublic]:
    found = await segment_counts(scheduler.units.pool, workspace_id)
    return [await _public(scheduler, workspace_id, segment, members) for segment, members in found]


@router.get("/segments/{segment_id}", response_model=SegmentPublic, summary="One segment, its count and backfill")
async def get_segment(segment_id: str, workspace_id: FlowsRead, scheduler: SchedulerDep) -> SegmentPublic:
    found = await segment_counts(scheduler.units.pool, workspace_id, segment_id)
    if not found:
        raise HTTPException(404, f"no segment {segment_id!r}")
    [(segment, members)] = found
    return await _public(scheduler, workspace_id, segment, members)


@router.delete("/segments/{segment_id}", status_code=204, summary="Delete a segment and its membership")
async def remove_segment(segment_id: str, workspace_id: FlowsWrite, scheduler: SchedulerDep) -> Response:
    async with scheduler.units.pool.acquire() as connection, connection.transaction():
        if not await delete_segment(connection, workspace_id, segment_id):
            raise HTTPException(404, f"no segment {segment_id!r}")
    return Response(status_code=204)
