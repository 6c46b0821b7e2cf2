"""The records a step leaves most often, written straight to JSON bytes: transitions and message requests.

A timer fire leaves two transitions and a message request. Building and validating a pydantic model
for each, then serialising it, cost more than the engine's step itself. Every value here comes from
the engine or from a published (validated) flow, so these write the bytes and headers
`OutgoingRecord.of(topic, Model(...))` gives, field for field and in the models' order, without the
model. Tests pin them against the models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from shared.contract import FlowTransition, MessageRequested
from shared.contract.topics import MESSAGES_REQUESTED, TRANSITIONS
from shared.kafka.codec import Headers, headers_of
from shared.kafka.producer import OutgoingRecord

SCHEMA_VERSION = 1
# pydantic writes UTC as `Z`; orjson does too with this option (other offsets and naive times agree as they are).
_OPTIONS = orjson.OPT_UTC_Z
_REQUEST_HEADERS = headers_of(MessageRequested.__name__, SCHEMA_VERSION, None)
_TRANSITION_HEADERS: dict[str, Headers] = {}


def _transition_headers(kind: str) -> Headers:
    headers = _TRANSITION_HEADERS.get(kind)
    if headers is None:
        headers = _TRANSITION_HEADERS[kind] = headers_of(FlowTransition.__name__, SCHEMA_VERSION, kind)
    return headers


def _flow_record(
    event_id: str, workspace_id: str, contact_id: str, occurred_at: datetime, received_at: datetime, flow_id: str,
    flow_version: int, step_id: str | None,
) -> dict[str, Any]:  # fmt: skip
    """The envelope and flow reference both records start with, in the models' field order."""
    return {
        "event_id": event_id,
        "workspace_id": workspace_id,
        "contact_id": contact_id,
        "occurred_at": occurred_at,
        "received_at": received_at,
        "schema_version": SCHEMA_VERSION,
        "flow_id": flow_id,
        "flow_version": flow_version,
        "step_id": step_id,
    }


def transition_out(
    *, event_id: str, workspace_id: str, contact_id: str, occurred_at: datetime, received_at: datetime,
    flow_id: str, flow_version: int, step_id: str | None, kind: str, reason: str | None, variant: str | None,
) -> OutgoingRecord:  # fmt: skip
    """A `FlowTransition` on its topic (keyed by contact)."""
    fields = _flow_record(event_id, workspace_id, contact_id, occurred_at, received_at, flow_id, flow_version, step_id)
    fields.update(kind=kind, reason=reason, variant=variant)
    return OutgoingRecord(TRANSITIONS, contact_id, orjson.dumps(fields, option=_OPTIONS), _transition_headers(kind))


def request_out(
    *, event_id: str, workspace_id: str, contact_id: str, occurred_at: datetime, received_at: datetime,
    flow_id: str, flow_version: int, step_id: str, channel: str, template_id: str, category: str,
    topic: str | None, variables: dict[str, Any], context: dict[str, Any] | None = None,
) -> OutgoingRecord:  # fmt: skip
    """A `MessageRequested` on its topic (keyed by contact). `variables` and `context` hold JSON values as
    decoded from JSON (the stored trigger event, flags and names): dates and other types are left to the model,
    whose JSON for them is its own."""
    fields = _flow_record(event_id, workspace_id, contact_id, occurred_at, received_at, flow_id, flow_version, step_id)
    fields.update(
        broadcast_id=None, channel=channel, template_id=template_id, category=category, topic=topic, variables=variables
    )
    fields["context"] = context or {}
    return OutgoingRecord(MESSAGES_REQUESTED, contact_id, orjson.dumps(fields, option=_OPTIONS), _REQUEST_HEADERS)
