"""What shops tell Dripline: the event types and their fields.

Each event type has a `…Fields` model (what the shop sends) that both the ingest
API and the topic record build on, so the HTTP body and the topic schema cannot drift.
Personal data (email, phone, names) never appears here: it travels on
`contacts.changes` only, so erasing a contact does not mean rewriting event topics.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator
from pydantic.json_schema import SkipJsonSchema

from shared.consent.channels import ConsentChannel
from shared.contract.envelope import Envelope
from shared.contract.fields import INT64_MAX, LINE_PATTERN, EventName, Label, Money, TopicId, Url, free_form

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. NOK.")]
Properties = Annotated[
    dict[str, Any],
    Field(default_factory=dict, description="Free-form details: JSON, at most 10 levels deep and 10,000 values."),
    AfterValidator(free_form),
]
ShortLabel = Annotated[str, Field(min_length=1, max_length=100, pattern=LINE_PATTERN)]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineItem(_Fields):
    product_id: Label
    name: str | None = Field(default=None, max_length=500, pattern=LINE_PATTERN)
    quantity: int = Field(default=1, ge=1, le=INT64_MAX)
    price: Money | None = Field(default=None, description="Unit price, in the event's currency.")
    url: Url | None = None
    image_url: Url | None = None


class _ConsentChoice(_Fields):
    marketing: StrictBool = Field(
        default=False,
        description="Agreed to marketing (true or false). Without `channels` this is consent to email only.",
    )
    channels: list[ConsentChannel] = Field(
        default_factory=list,
        max_length=4,
        description="The channels the person agreed to, each a separate grant: email, sms, post, web "
        "(web tracking). Empty with marketing true: email only.",
    )
    topics: list[TopicId] = Field(
        default_factory=list, max_length=100, description="Subscription topics chosen, e.g. newsletter."
    )
    policy_version: ShortLabel | None = Field(default=None, description="Version of the privacy text shown.")


# The evidence a shop's form saw; kept in the consent ledger, never on a topic.
_EVIDENCE = ("ip", "user_agent")


class Consent(_ConsentChoice):
    """What the person agreed to, as `shop.signups` carries it: the evidence stays in Dripline's database."""

    evidence_id: str | None = Field(
        default=None,
        description="Where the evidence (IP network, user agent) is kept: the consent ledger entries of the sign-up "
        "with this event id (GET /v1/contacts/{contact_id}, consent_history). Never the values themselves.",
    )

    @model_validator(mode="before")
    @classmethod
    def _evidence_is_not_copied(cls, data: Any) -> Any:
        """Records written before the evidence moved to the ledger carried it: it is read and dropped."""
        if isinstance(data, dict) and any(name in data for name in _EVIDENCE):
            return {name: value for name, value in data.items() if name not in _EVIDENCE}
        return data


class ConsentGiven(Consent):
    """What the person agreed to when signing up, as the shop's form recorded it.

    The IP address and user agent are evidence: the consent ledger keeps them (the IP as its network)
    and the sign-up record on `shop.signups` refers to them by `evidence_id`, set by Dripline."""

    evidence_id: SkipJsonSchema[None] = Field(default=None, exclude=True)
    ip: str | None = Field(default=None, max_length=100, pattern=LINE_PATTERN)
    user_agent: str | None = Field(default=None, max_length=1000, pattern=LINE_PATTERN)
    text_shown: str | None = Field(
        default=None,
        max_length=2000,
        description="The consent wording the person saw and agreed to (e.g. 'Yes, send me offers by SMS'); "
        "kept in the consent ledger with each grant.",
    )

    @model_validator(mode="before")
    @classmethod
    def _evidence_is_not_copied(cls, data: Any) -> Any:
        return data  # the shop's own form: the evidence is what it came with

    def on_record(self, event_id: str) -> Consent:
        """The consent as the sign-up record carries it: the choice, and where its evidence is kept."""
        kept = (self.marketing or bool(self.channels)) and bool(
            self.ip or self.user_agent
        )  # only a grant writes ledger entries
        return Consent(
            marketing=self.marketing,
            channels=self.channels,
            topics=self.topics,
            policy_version=self.policy_version,
            evidence_id=event_id if kept else None,
        )


class SignupFields(_Fields):
    type: Literal["signup"]
    source: Label | None = Field(default=None, description="Where they signed up, e.g. webinar-form.")
    consent: Consent = Field(default_factory=Consent)
    interests: list[ShortLabel] = Field(
        default_factory=list, max_length=100, description="Self-segmentation choices at sign-up."
    )
    properties: Properties


class PurchaseFields(_Fields):
    type: Literal["purchase"]
    order_id: Label
    items: list[LineItem] = Field(default_factory=list, max_length=1000)
    revenue: Money
    currency: Currency
    discount_codes: list[ShortLabel] = Field(
        default_factory=list, max_length=20, description="Discount codes used on the order, e.g. BACK-7K2M9QX4TP."
    )
    properties: Properties


class CartFields(_Fields):
    type: Literal["cart_updated", "checkout_started", "cart_abandoned"]
    cart_id: Label | None = None
    items: list[LineItem] = Field(default_factory=list, max_length=1000)
    value: Money | None = None
    currency: Currency | None = None
    cart_url: Url | None = None
    properties: Properties


class ActivityFields(_Fields):
    """Named activities with their own meaning in flows."""

    type: Literal["form_submitted", "product_viewed", "document_downloaded"]
    name: Label | None = Field(default=None, description="Form, product or document name.")
    url: Url | None = None
    properties: Properties


class TrackFields(_Fields):
    """Any other named event the shop wants flows to react to."""

    type: Literal["track"]
    name: EventName
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
