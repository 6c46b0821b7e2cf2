"""Broadcasts: create a draft, schedule it, follow its progress, pause, resume or cancel it (docs/broadcasts.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from services.scheduler.adapters.broadcasts import (
    StoredBroadcast,
    broadcast,
    broadcasts,
    create_broadcast,
)
from services.scheduler.adapters.segments import segments_of
from services.scheduler.api.flows import SchedulerDep
from services.scheduler.domain.broadcasts import Broadcast, Command, RefusedChange, Schedule, State, unknown_segments
from services.scheduler.usecases.broadcast_commands import operate, standing
from shared.api_auth import FlowsRead, FlowsWrite
from shared.audit import record_api_change

router = APIRouter(prefix="/v1", tags=["broadcasts"])


class BroadcastProgress(BaseModel):
    resolved: int = Field(description="Recipients in the frozen audience so far.")
    sent: int = Field(description="Handed to the sender (its ledger and the message statuses say what became of each).")
    held: dict[str, int] = Field(description="Not sent, by reason (unsubscribed, suppressed, erased, cancelled).")
    waiting: dict[str, int] = Field(description="Still to go, by reason: `due` not yet due, else what put them off.")
    remaining: int
    eta: datetime | None = Field(description="When the last one should go, from due times and the throttle.")


class BroadcastPublic(BaseModel):
    broadcast: Broadcast
    state: State
    starts_at: datetime | None
    frozen_at: datetime | None = Field(description="The audience is who belonged to it at this moment.")
    finished_at: datetime | None
    progress: BroadcastProgress
    test_ends_at: datetime | None = Field(default=None, description="Test then send: when the winner is picked.")
    winner: str | None = Field(default=None, description="Test then send: the template the rest get.")
    funnel: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="By template: messages requested, delivered (accepted by the SMTP server), opened by people "
        "(not privacy proxies or scanners) and clicked.",
    )
    decision: dict[str, Any] | None = Field(
        default=None, description="The test's evidence: each variant's messages, successes, rate, interval, p-value."
    )


class ScheduleBody(BaseModel):
    schedule: Schedule | None = Field(default=None, description="Unset: the schedule the broadcast was created with.")


async def _public(scheduler: SchedulerDep, workspace_id: str, found: StoredBroadcast) -> BroadcastPublic:
    stands = await standing(scheduler.units.pool, found, workspace_id, scheduler.units.clock())
    done = stands.progress
    return BroadcastPublic(
        broadcast=found.spec, state=found.state, starts_at=found.starts_at, frozen_at=found.frozen_at,
        finished_at=found.finished_at, test_ends_at=found.test_ends_at, winner=found.winner,
        decision=found.decision, funnel=stands.funnel,
        progress=BroadcastProgress(resolved=done.resolved, sent=done.sent, held=done.held, waiting=done.waiting,
                                   remaining=done.remaining, eta=done.eta),
    )  # fmt: skip


async def _found(scheduler: SchedulerDep, workspace_id: str, broadcast_id: str) -> StoredBroadcast:
    found = await broadcast(scheduler.units.pool, workspace_id, broadcast_id)
    if found is None:
        raise HTTPException(404, f"no broadcast {broadcast_id!r}")
    return found


@router.post("/broadcasts", response_model=BroadcastPublic, status_code=201, summary="Create or change a draft")
async def create(body: Broadcast, workspace_id: FlowsWrite, scheduler: SchedulerDep) -> BroadcastPublic:
    """A draft sends nothing; change it by posting it again, until it is scheduled. Segments it names must
    exist in the workspace (422 naming the field otherwise)."""
    async with scheduler.units.pool.acquire() as connection:
        known = {segment.id for segment in (await segments_of(connection, [workspace_id])).get(workspace_id, [])}
    problems = unknown_segments(body, known)
    if problems:
        detail = [{"loc": ["body", *path], "msg": problem, "type": "unknown_segment"} for path, problem in problems]
        raise HTTPException(422, detail)
    if not await create_broadcast(scheduler.units.pool, workspace_id, body):
        raise HTTPException(409, f"broadcast {body.id!r} is no longer a draft")
    return await _public(scheduler, workspace_id, await _found(scheduler, workspace_id, body.id))


@router.get("/broadcasts", response_model=list[BroadcastPublic], summary="The workspace's broadcasts, newest first")
async def list_all(
    workspace_id: FlowsRead, scheduler: SchedulerDep, limit: int = Query(default=50, ge=1, le=500)
) -> list[BroadcastPublic]:
    found = await broadcasts(scheduler.units.pool, workspace_id, limit)
    return [await _public(scheduler, workspace_id, one) for one in found]


@router.get("/broadcasts/{broadcast_id}", response_model=BroadcastPublic, summary="A broadcast and its progress")
async def status(broadcast_id: str, workspace_id: FlowsRead, scheduler: SchedulerDep) -> BroadcastPublic:
    return await _public(scheduler, workspace_id, await _found(scheduler, workspace_id, broadcast_id))


async def _command(
    request: Request, scheduler: SchedulerDep, workspace_id: str, broadcast_id: str, command: Command,
    schedule: Schedule | None = None,
) -> BroadcastPublic:  # fmt: skip
    try:
        moved = await operate(
            scheduler.units.pool, workspace_id, broadcast_id, command, scheduler.units.clock(), schedule
        )
    except RefusedChange as refused:
        raise HTTPException(409, str(refused)) from refused
    if moved is None:
        raise HTTPException(404, f"no broadcast {broadcast_id!r}")
    scheduler.broadcasts.wake()
    await record_api_change(request, workspace_id, f"broadcast.{moved.state}", broadcast_id)
    return await _public(scheduler, workspace_id, moved)


@router.post("/broadcasts/{broadcast_id}/schedule", response_model=BroadcastPublic, summary="Schedule a broadcast")
async def schedule(
    broadcast_id: str, body: ScheduleBody, request: Request, workspace_id: FlowsWrite, scheduler: SchedulerDep
) -> BroadcastPublic:
    """From draft (or to change a schedule that has not started): the send begins when the schedule says."""
    return await _command(request, scheduler, workspace_id, broadcast_id, "schedule", body.schedule)


Action = Literal["pause", "resume", "cancel"]


def _action_route(action: Action, summary: str) -> None:
    async def act(
        broadcast_id: str, request: Request, workspace_id: FlowsWrite, scheduler: SchedulerDep
    ) -> BroadcastPublic:
        return await _command(request, scheduler, workspace_id, broadcast_id, action)

    act.__name__ = action
    router.add_api_route(
        f"/broadcasts/{{broadcast_id}}/{action}", act, methods=["POST"], response_model=BroadcastPublic, summary=summary
    )


_action_route("pause", "Pause a scheduled or sending broadcast (those not yet requested wait)")
_action_route("resume", "Resume a paused broadcast where it stopped")
_action_route("cancel", "Cancel a broadcast: those not yet requested are held as cancelled")
