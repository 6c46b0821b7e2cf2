"""What the engine may know about a contact and the events it reacts to, as read-only values."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .facts import CustomerFacts

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
# What became of a message the flow asked for (from messages.status): a notify step waits on these.
MESSAGE_DELIVERED = "message_delivered"
MESSAGE_FAILED = "message_failed"
MESSAGE_SKIPPED = "message_skipped"
MESSAGE_OUTCOMES = frozenset({MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_SKIPPED})
# The profile fields a contact has by name (`contact.first_name`); anything else is `contact.attributes.<name>`.
PROFILE_FIELDS = ("first_name", "last_name", "locale", "birthday", "external_id")
# Event data that may name or trace a person (a sign-up's consent proof holds the IP address): never
# copied into a message request, whose topic is not the one personal data lives on.
_PERSONAL = frozenset({"consent", "email", "phone", "first_name", "last_name", "ip", "user_agent"})
# Computed for the history helpers; templates read `items`.
_DERIVED = frozenset({"products"})

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


def message_value(event: dict[str, Any]) -> dict[str, Any]:
    """The `event` a template sees, from an event as stored (`Event.model_dump(mode="json")`): its data
    with `id`, `type` and `at` alongside, as in conditions, minus what is personal and minus empty values
    (so a template's `{{ event.cart_url }}` is missing, not blank, when the shop sent none)."""
    data = event.get("data") or {}
    found = {k: _present(v) for k, v in data.items() if v is not None and k not in _PERSONAL and k not in _DERIVED}
    found.update(id=event.get("id"), type=event.get("type"), at=event.get("at"))
    return found


def _present(value: Any) -> Any:
    if type(value) is dict:
        return {k: _present(v) for k, v in value.items() if v is not None}
    if type(value) is list:
        return [_present(v) for v in value]
    return value


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
    facts: CustomerFacts = Field(default_factory=CustomerFacts)

    def as_expression_value(self, now: datetime | None = None) -> dict[str, Any]:
        """The `contact` seen by CEL; sets become sorted lists so `"vip" in contact.tags` works.

        `contact.facts` needs the time (engagement and the last 30 days' messages depend on it)."""
        attributes = self.attributes
        return {
            **({"facts": self.facts.value(now)} if now is not None else {}),
            **{name: attributes[name] for name in PROFILE_FIELDS if name in attributes},
            "id": self.id,
            "attributes": dict(attributes),
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

    def unsubscribed(self, topic: str | None) -> ContactView:
        """The contact off one topic, or (None) off all marketing, as an `unsubscribe` step leaves them."""
        if topic is not None:
            return self.model_copy(update={"unsubscribed_topics": self.unsubscribed_topics | {topic}})
        subscriptions = {**(self.subscriptions or {}), "*": "unsubscribed"}
        return self.model_copy(update={"status": "unsubscribed", "subscriptions": subscriptions})

    def with_event(self, event: Event) -> ContactView:
        return self.model_copy(update={"history": (*self.history, event)})
