"""Turning an accepted request into the records that go on the topics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter

from services.ingest.domain.requests import ActivityIn, AnyEventIn, CartIn, PurchaseIn, SignupIn, TrackIn
from shared.contract.contacts import ContactChanged
from shared.contract.shop import ActivityEvent, CartEvent, PurchaseEvent, SignupEvent, TrackEvent
from shared.contract.topics import CONTACTS, Topic, topic_for_event_type
from shared.kafka.codec import Headers, encode_value, headers_of

_RECORD_TYPE: dict[type[BaseModel], type[BaseModel]] = {
    SignupIn: SignupEvent,
    PurchaseIn: PurchaseEvent,
    CartIn: CartEvent,
    ActivityIn: ActivityEvent,
    TrackIn: TrackEvent,
}


_NOT_ON_TOPIC: set[str] = {"contact", "event_id", "occurred_at"}
SCHEMA_VERSION = 1


def event_record(
    event: AnyEventIn,
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
    if isinstance(event, SignupIn):
        fields["consent"] = event.consent.on_record(event_id)  # the evidence stays in the consent ledger
    record = _RECORD_TYPE[type(event)].model_construct(
        **fields,
        schema_version=SCHEMA_VERSION,
        event_id=event_id,
        workspace_id=workspace_id,
        contact_id=contact_id,
        occurred_at=event.occurred_at or received_at,
        received_at=received_at,
    )
    return topic_for_event_type(event.type), record


# The record models' own datetime format (`…Z` for UTC), so the bytes match what they would write.
_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(datetime)


class EventRecords:
    """One request's event records, written straight to JSON bytes.

    The same bytes as `event_record` encoded by the codec (a record model lists the event's own
    fields, then the envelope), without building a model and a dict per event: a batch of a
    thousand events shares the workspace and the receive time, so those are encoded once.
    """

    def __init__(self, workspace_id: str, received_at: datetime) -> None:
        self._workspace_id, self._received_at = workspace_id, received_at
        self._workspace = orjson.dumps(workspace_id)
        self._received = _TIMESTAMP.dump_json(received_at)
        self._headers: dict[tuple[type[BaseModel], str], Headers] = {}

    def value(self, event: AnyEventIn, *, contact_id: str, event_id: str) -> bytes:
        if isinstance(event, SignupIn):  # its consent is rewritten (`on_record`): built as the model
            _, record = event_record(
                event,
                workspace_id=self._workspace_id,
                contact_id=contact_id,
                event_id=event_id,
                received_at=self._received_at,
            )
            return encode_value(record)
        fields = event.__pydantic_serializer__.to_json(event, exclude=_NOT_ON_TOPIC)
        occurred = self._received if event.occurred_at is None else _TIMESTAMP.dump_json(event.occurred_at)
        return b'%b,"event_id":%b,"workspace_id":%b,"contact_id":%b,"occurred_at":%b,"received_at":%b%b' % (
            fields[:-1],
            orjson.dumps(event_id),
            self._workspace,
            orjson.dumps(contact_id),
            occurred,
            self._received,
            _VERSION_AND_END,
        )

    def headers(self, event: AnyEventIn) -> Headers:
        """The codec's headers for this event's record; shared by every record of the same kind."""
        kind = (type(event), event.type)
        headers = self._headers.get(kind)
        if headers is None:
            headers = self._headers[kind] = headers_of(_RECORD_TYPE[kind[0]].__name__, SCHEMA_VERSION, event.type)
        return headers


_VERSION_AND_END = b',"schema_version":%d}' % SCHEMA_VERSION


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
