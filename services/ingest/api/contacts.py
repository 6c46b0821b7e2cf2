"""Contacts: identify, look up, export (GDPR access) and erase (GDPR erasure)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from services.ingest.adapters.contact_view import contact_overview
from services.ingest.api.errors import BODY_ANSWERS, NotFound, answers
from services.ingest.domain.requests import ContactIn
from services.ingest.usecases.intake import Intake
from shared.api_auth import ContactsErase, ContactsRead, EventsWrite
from shared.audit import api_actor
from shared.contact_rights import export_recorded
from shared.contract.fields import LINE_PATTERN

router = APIRouter(prefix="/v1", tags=["contacts"])
# Looking up and erasing take any id without control characters, so contacts kept from before ids had
# a pattern can still be read and erased; new ids are checked where they come in.
KnownContactId = Annotated[str, Path(min_length=1, max_length=1024, pattern=LINE_PATTERN)]
_READ_ANSWERS = answers(401, 403, 404, 422, 429)


class Identified(BaseModel):
    contact_id: str | None = Field(
        description="null when the call names an erased person: accepted, and nothing was kept or published."
    )
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
    text_shown: str | None = Field(default=None, description="The consent wording the person saw.")
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
    facts: dict[str, Any] = Field(
        default_factory=dict,
        description="Customer facts kept from their events: first and last purchase, order count, spend per "
        "currency with its order count, last order's products, last open, click and visit (docs/segments.md).",
    )
    subscriptions: list[Subscription]
    consent_history: list[ConsentRecord]
    timeline: list[TimelineEntry] = Field(description="Newest first: events, messages and flows.")


class Erased(BaseModel):
    contact_id: str
    removed: dict[str, int] = Field(description="Rows removed or blanked, by table.")


def _intake(request: Request) -> Intake:
    intake: Intake = request.app.state.intake
    return intake


@router.post(
    "/contacts",
    status_code=202,
    response_model=Identified,
    summary="Identify a contact",
    responses=answers(*BODY_ANSWERS, 503),
)
async def identify(request: Request, workspace_id: EventsWrite, contact: ContactIn) -> Identified:
    contact_id, profile = await _intake(request).identify(workspace_id, contact)
    return Identified(contact_id=contact_id, profile=profile)


@router.get(
    "/contacts/{contact_id}",
    response_model=ContactOverview,
    summary="A contact, their consent and timeline",
    responses=_READ_ANSWERS,
)
async def get_contact(request: Request, workspace_id: ContactsRead, contact_id: KnownContactId) -> Any:
    async with request.app.state.resources.pool.acquire() as connection:
        overview = await contact_overview(connection, workspace_id, contact_id)
    if overview is None:
        raise NotFound("path.contact_id", "no such contact in this workspace")
    return overview


@router.get(
    "/contacts/{contact_id}/export",
    summary="Everything held about a contact, as one JSON document",
    responses=_READ_ANSWERS,
)
async def export(request: Request, workspace_id: ContactsRead, contact_id: KnownContactId) -> dict[str, Any]:
    """Written to the audit log (`contact.exported`, by the key's id) when there is something to export."""
    async with request.app.state.resources.pool.acquire() as connection:
        document = await export_recorded(connection, workspace_id, contact_id, actor=api_actor(request), via="api")
    if document is None:
        raise NotFound("path.contact_id", "no data held about this contact in this workspace")
    return document


@router.delete(
    "/contacts/{contact_id}",
    response_model=Erased,
    summary="Erase a contact (right to be forgotten)",
    responses=answers(401, 403, 404, 422, 429, 503),
)
async def erase(request: Request, workspace_id: ContactsErase, contact_id: KnownContactId) -> Erased:
    """Removes personal data in every table, ends the contact's flows, keeps a hashed suppression,
    and publishes a tombstone on contacts.changes. Safe to repeat (the kept consent proof still names
    the id); 404 when this workspace holds nothing under the id, whatever other workspaces hold.
    Written to the audit log (`contact.erased`, by the key's id)."""
    removed = await _intake(request).erase(workspace_id, contact_id, actor=api_actor(request), via="api")
    if removed is None:
        raise NotFound("path.contact_id", "no such contact in this workspace")
    return Erased(contact_id=contact_id, removed=removed)
