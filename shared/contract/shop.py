"""What shops tell Dripline: the event types and their fields.

Each event type has a `…Fields` model (what the shop sends) that both the ingest
API and the topic record build on, so the HTTP body and the topic schema cannot drift.
Personal data (email, phone, names) never appears here: it travels on
`contacts.changes` only, so erasing a contact does not mean rewriting event topics.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contract.envelope import Envelope

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. NOK.")]
Properties = Annotated[dict[str, Any], Field(default_factory=dict, description="Free-form details.")]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineItem(_Fields):
    product_id: str = Field(min_length=1)
    name: str | None = None
    quantity: int = Field(default=1, ge=1)
    price: Decimal | None = Field(default=None, ge=0, description="Unit price, in the event's currency.")
    url: str | None = None
    image_url: str | None = None


class Consent(_Fields):
    """What the person agreed to when signing up, as the shop's form recorded it."""

    marketing: bool = Field(default=False, description="Agreed to marketing email.")
    topics: list[str] = Field(default_factory=list, description="Subscription topics chosen, e.g. newsletter.")
    policy_version: str | None = Field(default=None, description="Version of the privacy text shown.")
    ip: str | None = None
    user_agent: str | None = None


class SignupFields(_Fields):
    type: Literal["signup"]
    source: str | None = Field(default=None, description="Where they signed up, e.g. webinar-form.")
    consent: Consent = Field(default_factory=Consent)
    interests: list[str] = Field(default_factory=list, description="Self-segmentation choices at sign-up.")
    properties: Properties


class PurchaseFields(_Fields):
    type: Literal["purchase"]
    order_id: str = Field(min_length=1)
    items: list[LineItem] = Field(default_factory=list)
    revenue: Decimal = Field(ge=0)
    currency: Currency
    properties: Properties


class CartFields(_Fields):
    type: Literal["cart_updated", "checkout_started", "cart_abandoned"]
    cart_id: str | None = None
    items: list[LineItem] = Field(default_factory=list)
    value: Decimal | None = Field(default=None, ge=0)
    currency: Currency | None = None
    cart_url: str | None = None
    properties: Properties


class ActivityFields(_Fields):
    """Named activities with their own meaning in flows."""

    type: Literal["form_submitted", "product_viewed", "document_downloaded"]
    name: str | None = Field(default=None, description="Form, product or document name.")
    url: str | None = None
    properties: Properties


class TrackFields(_Fields):
    """Any other named event the shop wants flows to react to."""

    type: Literal["track"]
    name: str = Field(min_length=1, max_length=200, description="The event's name, e.g. coupon_redeemed.")
    properties: Properties


class SignupEvent(Envelope, SignupFields):
    """A person signed up (newsletter, account, webinar, trial)."""


class PurchaseEvent(Envelope, PurchaseFields):
    """An order was placed."""


class CartEvent(Envelope, CartFields):
    """A cart changed, a checkout started, or the shop judged a cart abandoned."""


class ActivityEvent(Envelope, ActivityFields):
    """A form filled in, a product viewed, a document downloaded."""


class TrackEvent(Envelope, TrackFields):
    """A custom event."""


ShopEvent = Annotated[SignupEvent | PurchaseEvent | CartEvent | ActivityEvent | TrackEvent, Field(discriminator="type")]
