"""The event contract: topic names, keys and schemas shared by every service."""

from shared.contract.contacts import ContactChanged, ContactFields
from shared.contract.envelope import Envelope, Record
from shared.contract.internal import Engagement, FlowTransition, MessageRequested, MessageStatus
from shared.contract.shop import (
    ActivityEvent,
    CartEvent,
    PurchaseEvent,
    ShopEvent,
    SignupEvent,
    TrackEvent,
)
from shared.contract.topics import ALL_TOPICS, EVERY_TOPIC, Topic, by_name, topic_for_event_type

__all__ = [
    "ALL_TOPICS",
    "EVERY_TOPIC",
    "ActivityEvent",
    "CartEvent",
    "ContactChanged",
    "ContactFields",
    "Engagement",
    "Envelope",
    "FlowTransition",
    "MessageRequested",
    "MessageStatus",
    "PurchaseEvent",
    "Record",
    "ShopEvent",
    "SignupEvent",
    "Topic",
    "TrackEvent",
    "by_name",
    "topic_for_event_type",
]
