"""Enrolling contacts by API, looking at a contact's enrollments, and the workspace sending policy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.scheduler.adapters.contacts import record_history
from services.scheduler.adapters.enrollments import contact_enrollments, lock_contacts
from services.scheduler.adapters.policy import load_policy, save_policy
from services.scheduler.adapters.processed import claim_events
from services.scheduler.adapters.records import stable_id
from services.scheduler.api.console.policy_form import changes
from services.scheduler.api.flows import SchedulerDep
from services.scheduler.domain import Event, WorkspacePolicy
from services.scheduler.domain.contact import ENROLL_REQUESTED
from services.scheduler.workers.intake import CONSUMER
from shared.api_auth import ContactsRead, ContactsWrite, FlowsRead, FlowsWrite
from shared.audit import record_api_change
from shared.contract.envelope import EVENT_ID_PATTERN

router = APIRouter(prefix="/v1", tags=["enrollments"])


class EnrollmentCreate(BaseModel):
    flow_id: str
    contact_id: str
    data: dict[str, Any] = Field(default_factory=dict, description="Seen by the flow as `event.*`")
    event_id: str | None = Field(
        default=None, pattern=EVENT_ID_PATTERN, description="Retries with the same id enroll at most once"
    )


class EnrollmentOutcome(BaseModel):
    flow_id: str
    entered: bool
    reason: str
    enrollment_id: str | None = None


@router.post("/enrollments", response_model=EnrollmentOutcome, summary="Enroll a contact in a flow with an API trigger")
async def enroll(body: EnrollmentCreate, workspace_id: ContactsWrite, scheduler: SchedulerDep) -> JSONResponse:
    event_id = body.event_id or stable_id("api", workspace_id, body.contact_id, body.flow_id, str(body.data))
    async with scheduler.units.open() as unit:
        if await unit.head(workspace_id, body.flow_id) is None:
            raise HTTPException(404, f"no flow {body.flow_id!r}")
        if not await claim_events(unit.connection, CONSUMER, [(workspace_id, event_id)]):
            outcome = EnrollmentOutcome(flow_id=body.flow_id, entered=False, reason="already requested")
            return JSONResponse(outcome.model_dump(), 200)
        event = Event(id=event_id, type=ENROLL_REQUESTED, at=unit.now, data={**body.data, "flow_id": body.flow_id})
        await lock_contacts(unit.connection, [(workspace_id, body.contact_id)])
        await record_history(unit.connection, [(workspace_id, body.contact_id, event)])
        outcomes = await scheduler.journeys.on_event(unit, workspace_id, body.contact_id, event, only=body.flow_id)
    found = outcomes[0] if outcomes else None
    outcome = EnrollmentOutcome(
        flow_id=body.flow_id,
        entered=bool(found and found.entered),
        reason=found.reason if found else "the flow has no API trigger",
        enrollment_id=found.enrollment_id if found else None,
    )
    return JSONResponse(outcome.model_dump(), 201 if outcome.entered else 200)


@router.get("/contacts/{contact_id}/enrollments", summary="A contact's enrollments, as stored")
async def enrollments_of(contact_id: str, workspace_id: ContactsRead, scheduler: SchedulerDep) -> list[dict[str, Any]]:
    async with scheduler.units.pool.acquire() as connection:
        return await contact_enrollments(connection, workspace_id, contact_id)


@router.get("/policy", summary="The workspace's sending policy (grace, quiet hours, frequency caps)")
async def get_policy(workspace_id: FlowsRead, scheduler: SchedulerDep) -> dict[str, Any]:
    return (await load_policy(scheduler.units.pool, workspace_id)).model_dump(mode="json")


@router.put("/policy", summary="Replace the workspace's sending policy")
async def put_policy(
    request: Request, policy: WorkspacePolicy, workspace_id: FlowsWrite, scheduler: SchedulerDep
) -> dict[str, Any]:
    """Written to the audit log (`policy.changed`, with what changed) when it changes anything."""
    before = await load_policy(scheduler.units.pool, workspace_id)
    await save_policy(scheduler.units.pool, workspace_id, policy)
    changed = changes(before, policy)
    if changed:
        await record_api_change(request, workspace_id, "policy.changed", "flow_policy", **changed)
    return policy.model_dump(mode="json")
