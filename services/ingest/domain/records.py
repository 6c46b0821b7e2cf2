"""Turning an accepted request into the records that go on the topics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.ingest.domain.requests import ActivityIn, CartIn, PurchaseIn, SignupIn, TrackIn
from shared.contract.contacts import ContactChanged
from shared.contract.shop import ActivityEvent, CartEvent, PurchaseEvent, SignupEvent, TrackEvent
from shared.contract.topics import CONTACTS, Topic, topic_for_event_type

_RECORD_TYPE: dict[type[BaseModel], type[BaseModel]] = {
    SignupIn: SignupEvent,
    PurchaseIn: PurchaseEvent,
    CartIn: CartEvent,
    ActivityIn: ActivityEvent,
    TrackIn: TrackEvent,
}


_NOT_ON_TOPIC = frozenset({"contact", "event_id", "occurred_at"})


def event_record(
    event: SignupIn | PurchaseIn | CartIn | ActivityIn | TrackIn,
    *,
    workspace_id: str,
    contact_id: str,
    event_id: str,
    received_at: datetime,
) -> tuple[Topic, BaseModel]:
    """The topic record: the event's own fields, with the contact reduced to its id.

    The request was validated on the way in and the envelope values are ours, so the record is
    assembled without validating everything a second time (this sits on the ingest hot path).
    """
    fields = {name: getattr(event, name) for name in type(event).model_fields if name not in _NOT_ON_TOPIC}
    record = _RECORD_TYPE[type(event)].model_construct(
        **fields,
        schema_version=1,
        event_id=event_id,
        workspace_id=workspace_id,
        contact_id=contact_id,
        occurred_at=event.occurred_at or received_at,
        received_at=received_at,
    )
    return topic_for_event_type(event.type), record


def contact_record(
    profile: dict[str, Any], *, workspace_id: str, contact_id: str, change_id: str, received_at: datetime
) -> tuple[Topic, ContactChanged]:
    record = ContactChanged(
        **profile,
        event_id=change_id,
        workspace_id=workspace_id,
        contact_id=contact_id,
        occurred_at=received_at,
        received_at=received_at,
    )
    return CONTACTS, record
