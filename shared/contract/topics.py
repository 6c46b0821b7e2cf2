"""The topic registry: every topic's name, key, schema and retention, in one place.

No other module spells a topic name. Deployment manifests and docs/ are generated
from this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from shared.contract.audit import AuditEntry
from shared.contract.contacts import ContactChanged
from shared.contract.erasure import ContactErased, compaction_config
from shared.contract.internal import (
    Engagement,
    FlowTransition,
    LinkCheckReport,
    MessageRequested,
    MessageStatus,
    SplitWinnerDeclared,
)
from shared.contract.segments import SegmentChange
from shared.contract.shop import ActivityEvent, CartEvent, PurchaseEvent, SignupEvent, TrackEvent

DAY_MS = 24 * 3600 * 1000
# DRIPLINE_ERASURE_DEADLINE_HOURS's default: what the generated manifests use.
ERASURE_DEADLINE_HOURS = 24.0


@dataclass(frozen=True)
class Topic:
    name: str
    schema: Any  # a pydantic model or an annotated union
    description: str
    producer: str
    consumers: tuple[str, ...]
    retention_ms: int = 14 * DAY_MS
    compacted: bool = False
    key: str = "contact_id"  # the record's field (or fields joined by "/") its key is made of

    def key_of(self, record: BaseModel) -> str:
        if "/" not in self.key:
            return str(getattr(record, self.key))
        return "/".join(str(getattr(record, field)) for field in self.key.split("/"))

    def full_name(self, prefix: str) -> str:
        return f"{prefix}{self.name}"

    def adapter(self) -> TypeAdapter[Any]:
        return _adapter(self.schema)

    def config(self, erasure_deadline_hours: float = ERASURE_DEADLINE_HOURS) -> dict[str, str]:
        """Broker-side topic configuration; a compacted topic forgets what a tombstone replaces within the deadline."""
        if self.compacted:
            return compaction_config(erasure_deadline_hours)
        return {"cleanup.policy": "delete", "retention.ms": str(self.retention_ms)}


_ADAPTERS: dict[int, TypeAdapter[Any]] = {}


def _adapter(schema: Any) -> TypeAdapter[Any]:
    key = id(schema)
    if key not in _ADAPTERS:
        _ADAPTERS[key] = TypeAdapter(schema)
    return _ADAPTERS[key]


SIGNUPS = Topic("shop.signups", SignupEvent, "People who signed up.", "ingest", ("scheduler",))
PURCHASES = Topic("shop.purchases", PurchaseEvent, "Orders placed.", "ingest", ("scheduler",))
CARTS = Topic("shop.carts", CartEvent, "Cart updates, checkouts started, abandoned carts.", "ingest", ("scheduler",))
EVENTS = Topic(
    "shop.events",
    Annotated[ActivityEvent | TrackEvent, Field(discriminator="type")],
    "Forms, product views, downloads and custom `track` events.",
    "ingest",
    ("scheduler",),
)
CONTACTS = Topic(
    "contacts.changes",
    ContactChanged,
    "Contact profiles (personal data lives here only); a null value erases the contact.",
    "ingest",
    ("scheduler", "sender"),
    compacted=True,
    key="workspace_id/contact_id",
)
MESSAGES_REQUESTED = Topic(
    "messages.requested", MessageRequested, "Messages flows ask to deliver.", "scheduler", ("sender",)
)
MESSAGES_STATUS = Topic("messages.status", MessageStatus, "What became of each message.", "sender", ("scheduler",))
ENGAGEMENT = Topic(
    "messages.engagement",
    Engagement,
    "Opens, clicks and unsubscribes, flagged when a machine made them.",
    "tracker",
    ("scheduler",),
)
TRANSITIONS = Topic(
    "flows.transitions", FlowTransition, "Contacts entering, moving through and leaving flows.", "scheduler", ()
)
ERASED = Topic(
    "contacts.erased",
    ContactErased,
    "Contacts erased: workspace, contact id and when, no personal data; erase what you keep about them.",
    "ingest",
    (),
    retention_ms=30 * DAY_MS,
)
SEGMENT_CHANGES = Topic(
    "segments.changes",
    SegmentChange,
    "Contacts entering and leaving segments (on an event, as time passes, or in a backfill); no personal data.",
    "scheduler",
    (),
)

ALL_TOPICS: tuple[Topic, ...] = (
    SIGNUPS,
    PURCHASES,
    CARTS,
    EVENTS,
    CONTACTS,
    MESSAGES_REQUESTED,
    MESSAGES_STATUS,
    ENGAGEMENT,
    TRANSITIONS,
    ERASED,
    SEGMENT_CHANGES,
)

DEAD_LETTERS = Topic(
    "dripline.dead-letters",
    dict[str, Any],
    "Records a consumer could not handle, with the reason in headers.",
    "any",
    (),
    retention_ms=30 * DAY_MS,
)

LINK_CHECKS = Topic(
    "templates.link-checks",
    LinkCheckReport,
    "Broken links found in live templates by the sender's daily link check.",
    "sender",
    (),
    retention_ms=30 * DAY_MS,
    key="template_id",
)

AB_WINNERS = Topic(
    "flows.ab-winners",
    SplitWinnerDeclared,
    "A/B splits whose auto-winner was declared; later entrants get the winning variant.",
    "scheduler",
    (),
    retention_ms=365 * DAY_MS,
    key="flow_id",
)

AUDIT = Topic(
    "workspaces.audit",
    AuditEntry,
    "Changes made in the console or through the API (publish, pause, resume, key creation): who, what, when.",
    "scheduler",
    (),
    retention_ms=365 * DAY_MS,
    key="workspace_id",
)

# Topics whose records are about something other than one contact.
OTHER_TOPICS: tuple[Topic, ...] = (DEAD_LETTERS, LINK_CHECKS, AB_WINNERS, AUDIT)
EVERY_TOPIC: tuple[Topic, ...] = (*ALL_TOPICS, *OTHER_TOPICS)

_SHOP_TOPIC_BY_TYPE = {
    "signup": SIGNUPS,
    "purchase": PURCHASES,
    "cart_updated": CARTS,
    "checkout_started": CARTS,
    "cart_abandoned": CARTS,
}


def topic_for_event_type(event_type: str) -> Topic:
    """Shop events are spread over four topics by type."""
    return _SHOP_TOPIC_BY_TYPE.get(event_type, EVENTS)


def by_name(name: str) -> Topic:
    for topic in EVERY_TOPIC:
        if topic.name == name:
            return topic
    raise KeyError(name)


def schema_of(record: BaseModel) -> str:
    return type(record).__name__
