"""Contact profiles: the only topic that carries personal data.

`contacts.changes` is compacted and keyed by `workspace_id/contact_id` (`contact_key`): the latest
record is the contact's profile, and an erased contact's key gets a tombstone (a null value) so
downstream consumers forget them. Contact ids are only unique within a workspace, so the key names
both: compaction never lets one workspace's record replace another's, and a tombstone says whose
contact it erases. Records from before kept the bare contact id as their key.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.contract.envelope import Envelope
from shared.contract.fields import LINE_PATTERN, FreeForm, Label, TimeZoneName


def contact_key(workspace_id: str, contact_id: str) -> str:
    """The key of a contact's records on contacts.changes (workspace ids hold no slash; contact ids may)."""
    return f"{workspace_id}/{contact_id}"


def erased_contact(key: str | None) -> tuple[str, str] | None:
    """(workspace, contact) a tombstone's key names; None for a key from before keys named the workspace."""
    if not key or "/" not in key:
        return None
    workspace_id, contact_id = key.split("/", 1)
    return (workspace_id, contact_id) if workspace_id and contact_id else None


class ContactProfile(BaseModel):
    """A person's profile as kept: what shops said over time, merged (profiles from before today's rules too)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    external_id: str | None = Field(default=None, max_length=200, description="The shop's own customer id.")
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164, e.g. +4791234567.")
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    locale: str | None = Field(default=None, pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2,4})?$", description="e.g. nb-NO.")
    timezone: str | None = Field(default=None, description="IANA name, e.g. Europe/Oslo.")
    birthday: date | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, description="Custom attributes; ISO dates allowed.")
    tags: list[str] = Field(default_factory=list, description="Tags.")

    @field_validator("email")
    @classmethod
    def lower_case_email(cls, email: str | None) -> str | None:
        """Mailbox providers treat addresses case-insensitively; one spelling keeps matching simple."""
        return email.lower() if email else email


class ContactFields(ContactProfile):
    """What a shop may say about a person (identify call or the `contact` of an event), checked at the door.

    Stricter than the profile it merges into: a profile kept from before a rule existed must still
    travel on contacts.changes, but nothing new breaks the rule.
    """

    external_id: Label | None = Field(default=None, description="The shop's own customer id.")
    first_name: str | None = Field(default=None, max_length=200, pattern=LINE_PATTERN)
    last_name: str | None = Field(default=None, max_length=200, pattern=LINE_PATTERN)
    timezone: TimeZoneName | None = None
    attributes: FreeForm = Field(default_factory=dict, description="Custom attributes; ISO dates allowed.")
    tags: list[Annotated[str, Field(min_length=1, max_length=100, pattern=LINE_PATTERN)]] = Field(
        default_factory=list, max_length=100, description="Tags to add."
    )


class ContactChanged(Envelope, ContactProfile):
    """The contact's profile after an identify call or an event that named them."""

    op: Literal["upsert"] = "upsert"
