"""The audit log's records: who changed what in a workspace, when, and through which door."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.contract.envelope import EVENT_ID_PATTERN, Record, SchemaVersion

Via = Literal["console", "api", "cli"]


class AuditEntry(Record):
    """One change: a flow published, paused or resumed, a contact erased or exported, an API key or a console
    user created (keyed by workspace id)."""

    event_id: str = Field(pattern=EVENT_ID_PATTERN, description="The entry's id; retries keep it.")
    workspace_id: str
    at: datetime = Field(description="When the change was made (UTC).")
    actor: str = Field(
        description="user:<console user id> (console), key:<key id> (API) or cli:<login>; never an email."
    )
    via: Via
    action: str = Field(
        description="What was done: flow.published, flow.paused, flow.resumed, key.created, contact.erased, "
        "contact.exported, user.created, ..."
    )
    target: str = Field(description="What it was done to: a flow id, a key id, a contact id, a console user id, ...")
    detail: dict[str, str] = Field(default_factory=dict, description="The change's particulars (a version, a name).")
    schema_version: SchemaVersion = 1
