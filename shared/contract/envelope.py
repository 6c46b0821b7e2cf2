"""Fields every record on every Dripline topic carries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.contract.fields import Timestamp

EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
# The newest schema version this code reads; a record of a later one goes to dead letters, not read as 1.
SCHEMA_VERSION = 1
SchemaVersion = Annotated[
    int,
    Field(ge=1, le=SCHEMA_VERSION, description="Bumped on incompatible changes to this topic's schema."),
]


class Record(BaseModel):
    """Base for topic records: strict about unknown fields so typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(Record):
    """Identity, ownership and timing of one record.

    Records are keyed by `contact_id`, so all of one contact's records stay in order
    on one partition. `event_id` is unique per workspace; a record seen twice with the
    same id is a retry and consumers drop it.
    """

    event_id: str = Field(pattern=EVENT_ID_PATTERN, description="Unique per workspace; retries keep it.")
    workspace_id: str = Field(description="The workspace (shop) the record belongs to.")
    contact_id: str = Field(description="Dripline's id of the contact; also the record key.")
    occurred_at: Timestamp = Field(description="When it happened, as the shop says (UTC offset required).")
    received_at: datetime = Field(description="When Dripline accepted it (UTC).")
    schema_version: SchemaVersion = 1
