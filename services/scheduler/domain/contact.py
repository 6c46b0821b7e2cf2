"""What the engine may know about a contact and the events it reacts to, as read-only values."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Event types the engine itself gives meaning to; every other type is a shop's own track event.
MESSAGE_OPENED = "message_opened"
MESSAGE_CLICKED = "message_clicked"
UNSUBSCRIBED = "unsubscribed"
SEGMENT_ENTERED = "segment_entered"
SEGMENT_LEFT = "segment_left"
CONFIRMED = "confirmed"
PREFERENCES_CHANGED = "preferences_changed"
ATTRIBUTE_CHANGED = "attribute_changed"
ENROLL_REQUESTED = "enroll_requested"
CONTACT_ERASED = "contact_erased"

ContactStatus = Literal["subscribed", "unsubscribed", "bounced", "erased"]
# One row of `contact_subscriptions`: `*` is marketing as a whole, any other key a subscription topic.
SubscriptionStatus = Literal["pending", "subscribed", "unsubscribed", "expired"]


class Event(BaseModel):
    """Something a contact did or that happened to them.

    `message_id` ties opens and clicks to the message that caused them; `machine` marks opens and
    clicks made by mail-privacy proxies and link scanners rather than people.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    type: str
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)
    message_id: str | None = None
    machine: bool = False

    def as_expression_value(self) -> dict[str, Any]:
        """The `event` seen by CEL: its data with `type` and `at` alongside, so `event.source` reads naturally."""
        return {**self.data, "type": self.type, "at": self.at}


class ContactView(BaseModel):
    """A snapshot of one contact, including the recent history the conditions may query."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    workspace_id: str = "default"
    time_zone: str | None = None
    signed_up_at: datetime | None = None
    status: ContactStatus = "subscribed"
    unsubscribed_topics: frozenset[str] = frozenset()
    # The contact's consent by topic; None means consent is not tracked (a simulation of someone
    # subscribed to everything), an empty map means no marketing consent at all.
    subscriptions: dict[str, SubscriptionStatus] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    history: tuple[Event, ...] = ()

    def as_expression_value(self) -> dict[str, Any]:
        """The `contact` seen by CEL; sets become sorted lists so `"vip" in contact.tags` works."""
        return {
            "id": self.id,
            "attributes": dict(self.attributes),
            "tags": sorted(self.tags),
            "segments": sorted(self.segments),
            "time_zone": self.time_zone or "",
            "status": self.status,
        }

    def with_changes(
        self, set_attributes: dict[str, Any], add_tags: frozenset[str], remove_tags: frozenset[str]
    ) -> ContactView:
        """The contact as an `update_contact` step leaves it, so later steps in the same walk see it."""
        return self.model_copy(
            update={
                "attributes": {**self.attributes, **set_attributes},
                "tags": (self.tags | add_tags) - remove_tags,
            }
        )

    def with_event(self, event: Event) -> ContactView:
        return self.model_copy(update={"history": (*self.history, event)})
