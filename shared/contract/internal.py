"""Records Dripline's own services exchange (also readable by analysts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.contract.envelope import Envelope, Record

Channel = Literal["email", "sms", "webhook"]
Category = Literal["marketing", "transactional"]


class FlowRef(Envelope):
    """Where in which flow a record comes from (empty for test sends)."""

    flow_id: str | None = None
    flow_version: int | None = None
    step_id: str | None = None


class MessageRequested(FlowRef):
    """The scheduler asks the sender to deliver one message. `event_id` is the message id."""

    channel: Channel
    template_id: str
    category: Category = "marketing"
    topic: str | None = Field(default=None, description="Subscription topic the message belongs to.")
    variables: dict[str, Any] = Field(default_factory=dict, description="Extra data for the template.")


class MessageStatus(FlowRef):
    """What became of a requested message."""

    message_id: str
    status: Literal["sent", "deferred", "failed", "bounced", "suppressed"]
    channel: Channel
    attempt: int = 1
    detail: str | None = Field(default=None, description="SMTP reply or reason.")


class Engagement(FlowRef):
    """A person opened, clicked, unsubscribed, changed their preferences or confirmed their address (tracker)."""

    message_id: str | None = None
    kind: Literal["opened", "clicked", "unsubscribed", "preferences_changed", "confirmed"]
    url: str | None = None
    machine: bool = Field(default=False, description="Privacy proxy or link scanner, not a person.")
    machine_reason: str | None = None


class FlowTransition(FlowRef):
    """A contact moved in a flow."""

    kind: Literal["entered", "step_reached", "held", "skipped", "goal_reached", "exited"]
    reason: str | None = Field(default=None, description="Why a step was held or skipped, or the flow exited.")
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
    schema_version: int = 1


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
    schema_version: int = 1
