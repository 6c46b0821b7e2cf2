"""`GET /v1/contacts?email=…`: find a contact by what the shop knows about them, without touching anything.

A read only: no event is published, no contact is created, nothing is written. People are found through
the identifier hashes, the same way ingest recognises them when events arrive.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError

from services.ingest.adapters.contact_view import contact_of, contact_overview
from services.ingest.api.contacts import ContactOverview
from services.ingest.api.errors import NotFound, answers
from shared.api_auth import ContactsRead
from shared.contract.fields import ID_PATTERN, LINE_PATTERN
from shared.identity import IdentifierKind, identifier_hash

router = APIRouter(prefix="/v1", tags=["contacts"])

Email = Annotated[str | None, Query(min_length=3, max_length=320, pattern=LINE_PATTERN, examples=["kari@example.com"])]
Phone = Annotated[str | None, Query(min_length=3, max_length=40, pattern=r"^\+?[0-9 ().-]+$", examples=["+4791234567"])]
ExternalId = Annotated[str | None, Query(pattern=ID_PATTERN, description="The shop's own id for the person.")]


def _one_identifier(email: str | None, phone: str | None, external_id: str | None) -> tuple[IdentifierKind, str]:
    given: list[tuple[IdentifierKind, str | None]] = [("email", email), ("phone", phone), ("external_id", external_id)]
    named = [(kind, value) for kind, value in given if value is not None]
    if len(named) != 1:
        field = named[1][0] if named else "email"
        reason = "give exactly one of email, phone or external_id"
        raise RequestValidationError([{"loc": ("query", field), "msg": reason, "type": "value_error"}])
    kind, value = named[0]
    assert value is not None
    return kind, value


@router.get(
    "/contacts",
    response_model=ContactOverview,
    summary="Find a contact by email, phone or external id",
    responses=answers(401, 403, 404, 422, 429),
)
async def find_contact(
    request: Request,
    workspace_id: ContactsRead,
    email: Email = None,
    phone: Phone = None,
    external_id: ExternalId = None,
) -> Any:
    """The contact this workspace knows under exactly one identifier, as `GET /v1/contacts/{id}` shows them.
    404 when nobody here has it (an erased person's identifiers are gone too); nothing is created or sent."""
    kind, value = _one_identifier(email, phone, external_id)
    async with request.app.state.resources.pool.acquire() as connection:
        contact_id = await contact_of(connection, workspace_id, kind, identifier_hash(workspace_id, kind, value))
        overview = None if contact_id is None else await contact_overview(connection, workspace_id, contact_id)
    if overview is None:
        raise NotFound(f"query.{kind}", f"no contact with this {kind.replace('_', ' ')} in this workspace")
    return overview
