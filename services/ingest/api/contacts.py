"""Contacts: identify, look up, export (GDPR access) and erase (GDPR erasure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from services.ingest.adapters.contact_view import contact_overview
from services.ingest.domain.requests import ContactIn
from services.ingest.intake import Intake
from shared.api_auth import WorkspaceDep
from shared.contact_data import export_contact

router = APIRouter(prefix="/v1", tags=["contacts"])


class Identified(BaseModel):
    contact_id: str
    profile: dict[str, Any]


class Subscription(BaseModel):
    topic: str = Field(description="A subscription topic, or * for marketing in general.")
    status: str = Field(description="pending (awaiting confirmation), subscribed or unsubscribed.")
    expires_at: datetime | None
    updated_at: datetime


class ConsentRecord(BaseModel):
    action: str
    scope: str
    source: str
    ip: str | None
    user_agent: str | None
    policy_version: str | None
    occurred_at: datetime
    recorded_at: datetime


class TimelineEntry(BaseModel):
    at: datetime
    kind: str = Field(description="event, message or flow.")
    what: str
    message_id: str | None
    machine: bool
    detail: str | None


class ContactOverview(BaseModel):
    contact_id: str
    profile: dict[str, Any]
    subscriptions: list[Subscription]
    consent_history: list[ConsentRecord]
    timeline: list[TimelineEntry] = Field(description="Newest first: events, messages and flows.")


class Erased(BaseModel):
    contact_id: str
    removed: dict[str, int] = Field(description="Rows removed or blanked, by table.")


def _intake(request: Request) -> Intake:
    intake: Intake = request.app.state.intake
    return intake


@router.post("/contacts", status_code=202, response_model=Identified, summary="Identify a contact")
async def identify(request: Request, workspace_id: WorkspaceDep, contact: ContactIn) -> Identified:
    contact_id, profile = await _intake(request).identify(workspace_id, contact)
    return Identified(contact_id=contact_id, profile=profile)


@router.get("/contacts/{contact_id}", response_model=ContactOverview, summary="A contact, their consent and timeline")
async def get_contact(request: Request, workspace_id: WorkspaceDep, contact_id: str) -> Any:
    async with request.app.state.resources.pool.acquire() as connection:
        overview = await contact_overview(connection, workspace_id, contact_id)
    if overview is None:
        raise HTTPException(404, "no such contact in this workspace")
    return overview


@router.get("/contacts/{contact_id}/export", summary="Everything held about a contact, as one JSON document")
async def export(request: Request, workspace_id: WorkspaceDep, contact_id: str) -> dict[str, Any]:
    async with request.app.state.resources.pool.acquire() as connection:
        document = await export_contact(connection, workspace_id, contact_id)
    if not document:
        raise HTTPException(404, "no data held about this contact in this workspace")
    return {"contact_id": contact_id, "workspace_id": workspace_id, "data": document}


@router.delete("/contacts/{contact_id}", response_model=Erased, summary="Erase a contact (right to be forgotten)")
async def erase(request: Request, workspace_id: WorkspaceDep, contact_id: str) -> Erased:
    """Removes personal data in every table, ends the contact's flows, keeps a hashed suppression,
    and publishes a tombstone on contacts.changes. Safe to repeat."""
    removed = await _intake(request).erase(workspace_id, contact_id)
    return Erased(contact_id=contact_id, removed=removed)
