"""The bodies shops post: each event type's fields plus who it is about and when.

The topic records extend the same `…Fields` models, so the API and the topics agree.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from shared.contract.contacts import ContactFields
from shared.contract.envelope import EVENT_ID_PATTERN
from shared.contract.fields import Id, Timestamp
from shared.contract.shop import ActivityFields, CartFields, ConsentGiven, PurchaseFields, SignupFields, TrackFields


class ContactRef(ContactFields):
    """Who the event is about: Dripline's contact id, or identifiers Dripline resolves to one."""

    contact_id: Id | None = Field(default=None, description="Dripline's contact id, if you have it.")

    @model_validator(mode="after")
    def needs_an_identifier(self) -> ContactRef:
        if not (self.contact_id or self.external_id or self.email or self.phone):
            raise ValueError("give at least one of contact_id, external_id, email, phone")
        return self


class _EventMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str | None = Field(
        default=None,
        pattern=EVENT_ID_PATTERN,
        description="Your id for this event. Send it and retries are safe: consumers drop repeats.",
    )
    occurred_at: Timestamp | None = Field(
        default=None, description="With a UTC offset, in 1970-2200; defaults to the time Dripline received it."
    )
    contact: ContactRef


class SignupIn(_EventMeta, SignupFields):
    consent: ConsentGiven = Field(default_factory=ConsentGiven)


class PurchaseIn(_EventMeta, PurchaseFields):
    pass


class CartIn(_EventMeta, CartFields):
    pass


class ActivityIn(_EventMeta, ActivityFields):
    pass


class TrackIn(_EventMeta, TrackFields):
    pass


AnyEventIn = SignupIn | PurchaseIn | CartIn | ActivityIn | TrackIn
EventIn = Annotated[AnyEventIn, Field(discriminator="type")]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[dict[str, Any]] = Field(description="Up to 1,000 events, each as for POST /v1/events.")
    partial: StrictBool = Field(
        default=False,
        description="Accept the valid events and report the rest (default: all or nothing). true or false only.",
    )


class CleanBatchIn(BaseModel):
    """A batch whose events all validate (the usual case), checked in one pass from the raw body."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn]
    partial: StrictBool = False


class ContactIn(ContactRef):
    """An identify call: set who a contact is and what we know about them."""


EXAMPLES: dict[str, dict[str, Any]] = {
    "signup": {
        "type": "signup",
        "event_id": "signup-8841",
        "contact": {"email": "kari@example.com", "first_name": "Kari", "locale": "nb-NO", "timezone": "Europe/Oslo"},
        "source": "newsletter-form",
        "consent": {"marketing": True, "topics": ["newsletter"], "policy_version": "2026-03"},
        "interests": ["running", "beginner"],
    },
    "purchase": {
        "type": "purchase",
        "contact": {"external_id": "cust-1042"},
        "order_id": "A-10042",
        "items": [{"product_id": "shoe-42", "name": "Trail shoe", "quantity": 1, "price": "1299.00"}],
        "revenue": "1299.00",
        "currency": "NOK",
    },
    "cart_abandoned": {
        "type": "cart_abandoned",
        "contact": {"email": "kari@example.com"},
        "cart_id": "cart-77",
        "items": [{"product_id": "shoe-42", "quantity": 1, "price": "1299.00"}],
        "value": "1299.00",
        "currency": "NOK",
        "cart_url": "https://shop.example/cart/77",
    },
    "form_submitted": {  # what starts the example web-conversion flow (examples/flows/web-conversion.yaml)
        "type": "form_submitted",
        "contact": {
            "email": "ola@example.com",
            "first_name": "Ola",
            "attributes": {"company": "Fjord AS", "sales_owner": "lars@example.com"},
        },
        "name": "pricing-guide",
        "url": "https://shop.example/pricing",
        "properties": {"document_url": "https://shop.example/files/pricing-guide.pdf"},
    },
    "track": {
        "type": "track",
        "contact": {"contact_id": "5f0c6f1e2b8a4c1d9e7f3a2b1c0d9e8f"},
        "name": "coupon_redeemed",
        "properties": {"code": "WELCOME10"},
    },
}
