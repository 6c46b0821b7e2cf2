"""Records Dripline's own services exchange (also readable by analysts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from shared.contract.envelope import Envelope, Record, SchemaVersion
from shared.contract.redaction import MISSING_DATA as MISSING_DATA
from shared.contract.redaction import public_detail, public_url

Channel = Literal["email", "sms", "webhook"]
Category = Literal["marketing", "transactional"]


class FlowRef(Envelope):
    """Where in which flow a record comes from (empty for test sends)."""

    flow_id: str | None = None
    flow_version: int | None = None
    step_id: str | None = None


class MessageRef(FlowRef):
    """A message's own origin: a flow's step (`FlowRef`) or a broadcast."""

    broadcast_id: str | None = Field(
        default=None, description="The broadcast the message belongs to; empty for flows' messages and test sends."
    )


class MessageRequested(MessageRef):
    """The scheduler asks the sender to deliver one message. `event_id` is the message id."""

    channel: Channel
    template_id: str
    category: Category = "marketing"
    topic: str | None = Field(default=None, description="Subscription topic the message belongs to.")
    variables: dict[str, Any] = Field(default_factory=dict, description="Extra data for the template.")
    context: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "What the flow knew when it decided to send, frozen: `event` (the event that started the enrollment), "
            "`events` (by wait_for step id, the event it received), `flow`, `step` and `locale` (the contact's "
            "language then: the template variant the message gets). Event data only: the contact's profile is read "
            "by the sender at send time. Empty for test sends and older records."
        ),
    )


# MISSING_DATA starts a status's detail when a message was not sent because a value it needs is missing
# (`missing data: event.cart_url (cart-help, html)`): flows record it as a skipped step.


class MessageStatus(MessageRef):
    """What became of a requested message."""

    message_id: str
    status: Literal["sent", "deferred", "failed", "bounced", "suppressed"]
    channel: Channel
    attempt: int = 1
    detail: str | None = Field(
        default=None,
        description="Why, in Dripline's words, with the SMTP reply code and enhanced status code when there was a "
        "reply (`address does not exist: 550 5.1.1`); never the server's own text, which quotes addresses.",
    )
    opens_tracked: bool | None = Field(
        default=None,
        description="An email sent: whether it carried the open pixel. False (tracking off, or HTML too short to "
        "carry one without looking like an image-only message to filters): whether it was opened is unknown.",
    )

    @field_validator("detail")
    @classmethod
    def _without_free_text(cls, detail: str | None, info: ValidationInfo) -> str | None:
        return public_detail(detail, str(info.data.get("status") or "failed"))


class Engagement(MessageRef):
    """A person opened, clicked, unsubscribed, changed their preferences or confirmed their address (tracker)."""

    message_id: str | None = None
    kind: Literal["opened", "clicked", "unsubscribed", "preferences_changed", "confirmed"]
    url: str | None = Field(
        default=None,
        description="The clicked link without its query, fragment or user info (they may name the reader).",
    )
    machine: bool = Field(default=False, description="Privacy proxy or link scanner, not a person.")
    machine_reason: str | None = None

    @field_validator("url")
    @classmethod
    def _without_personal_parts(cls, url: str | None) -> str | None:
        return public_url(url)


class FlowTransition(FlowRef):
    """A contact moved in a flow."""

    kind: Literal["entered", "refused", "step_reached", "held", "skipped", "failed", "goal_reached", "exited"]
    reason: str | None = Field(
        default=None,
        description="Why a step was held, skipped or failed (e.g. a refused webhook), why the flow exited, or why "
        "a trigger did not let the contact in (`refused`: no consent, unsubscribed, suppressed).",
    )
    variant: str | None = None


class LinkCheckReport(Record):
    """A link in a live template that readers cannot follow (keyed by template id, not by contact)."""

    event_id: str
    workspace_id: str
    template_id: str
    url: str
    status: int | None = Field(default=None, description="HTTP status, when the server answered.")
    problem: str = Field(description="HTTP 404, timed out, a DNS error…")
    checked_at: datetime
    schema_version: SchemaVersion = 1


class SplitWinnerDeclared(Record):
    """A split's auto-winner was declared: contacts entering from now on get this variant (keyed by flow id)."""

    event_id: str
    workspace_id: str
    flow_id: str
    step_id: str
    variant: str
    metric: str = Field(description="opened, clicked or converted.")
    confidence: float
    decided_at: datetime
    schema_version: SchemaVersion = 1
