"""Contact profiles: the only topic that carries personal data.

`contacts.changes` is compacted and keyed by contact id: the latest record is the
contact's profile, and an erased contact's key gets a tombstone (a null value) so
downstream consumers forget them.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.contract.envelope import Envelope


class ContactFields(BaseModel):
    """What a shop may say about a person (identify call or the `contact` of an event)."""

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
    tags: list[str] = Field(default_factory=list, description="Tags to add.")

    @field_validator("email")
    @classmethod
    def lower_case_email(cls, email: str | None) -> str | None:
        """Mailbox providers treat addresses case-insensitively; one spelling keeps matching simple."""
        return email.lower() if email else email


class ContactChanged(Envelope, ContactFields):
    """The contact's profile after an identify call or an event that named them."""

    op: Literal["upsert"] = "upsert"
