"""POST /v1/contacts: identify a contact and set what is known about them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.ingest.domain.requests import ContactIn
from services.ingest.intake import Intake
from shared.api_auth import WorkspaceDep

router = APIRouter(prefix="/v1", tags=["contacts"])


class Identified(BaseModel):
    contact_id: str
    profile: dict[str, Any]


@router.post("/contacts", status_code=202, response_model=Identified, summary="Identify a contact")
async def identify(request: Request, workspace_id: WorkspaceDep, contact: ContactIn) -> Identified:
    intake: Intake = request.app.state.intake
    contact_id, profile = await intake.identify(workspace_id, contact)
    return Identified(contact_id=contact_id, profile=profile)
