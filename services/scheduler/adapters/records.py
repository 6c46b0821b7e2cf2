"""Translating topic records into what the flow engine understands, and back: the bus's codec for flows.

Shop events keep their own fields and their free-form `properties` side by side in `event.*`
(so `event.coupon` and `event.source` both read naturally); cart and purchase line items also
appear as `products` for the `history.*` helpers.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from services.scheduler.adapters.outgoing import transition_out
from services.scheduler.domain import ContactView, Event, Flow, Transition
from services.scheduler.domain.contact import (
    ATTRIBUTE_CHANGED,
    MESSAGE_CLICKED,
    MESSAGE_DELIVERED,
    MESSAGE_FAILED,
    MESSAGE_OPENED,
    MESSAGE_SKIPPED,
    UNSUBSCRIBED,
)
from services.scheduler.domain.facts import CustomerFacts
from shared.contract import ContactChanged, Engagement, FlowTransition, MessageStatus
from shared.contract.envelope import Envelope
from shared.contract.internal import MISSING_DATA
from shared.ids import uuid5_text
from shared.kafka.producer import OutgoingRecord

_NAMESPACE = uuid.UUID("0b7f6a52-3f0e-5c71-9d0c-5ad3c51f2e44")
_ENVELOPE = set(Envelope.model_fields) | {"type", "properties"}
_ENGAGEMENT_TYPES = {"opened": MESSAGE_OPENED, "clicked": MESSAGE_CLICKED, "unsubscribed": UNSUBSCRIBED}
_NAMED = {"form_submitted": "form", "product_viewed": "product", "document_downloaded": "document"}
# Profile fields conditions and date triggers may read as `contact.attributes.<name>`.
_PROFILE_ATTRIBUTES = ("first_name", "last_name", "locale", "birthday", "external_id")
_TRANSITION_KINDS = {"held_by_policy": "held"}


def stable_id(*parts: str) -> str:
    """A UUIDv5 over the parts: the same inputs give the same id on every replay."""
    return uuid5_text(_NAMESPACE, "\x1f".join(parts))


def shop_event(record: BaseModel) -> Event:
    """A shop record (signup, purchase, cart, activity, track) as an engine event."""
    fields = record.model_dump(mode="json")
    data: dict[str, Any] = dict(fields.get("properties") or {})
    data.update({key: value for key, value in fields.items() if key not in _ENVELOPE})
    kind = str(fields["type"])
    if kind == "track":
        kind = str(fields["name"])
    if kind in _NAMED and fields.get("name") is not None:
        data.setdefault(_NAMED[kind], fields["name"])
    if kind == "product_viewed" and fields.get("name") is not None:
        data.setdefault("products", [{"id": fields["name"]}])  # for history.repeated_products("product_viewed", …)
    if "items" in data:
        data.setdefault("products", [{"id": item["product_id"], **item} for item in data["items"]])
    envelope: Envelope = record  # type: ignore[assignment]
    return Event(id=envelope.event_id, type=kind, at=envelope.occurred_at, data=data)


def engagement_event(record: Engagement) -> Event:
    kind = _ENGAGEMENT_TYPES.get(record.kind, record.kind)
    data: dict[str, Any] = {"url": record.url} if record.url else {}
    if record.step_id:
        data["step"] = record.step_id
    if record.broadcast_id:
        data["broadcast_id"] = record.broadcast_id
    return Event(
        id=record.event_id,
        type=kind,
        at=record.occurred_at,
        data=data,
        message_id=record.message_id,
        machine=record.machine,
    )


_STATUS_EVENTS = {
    "bounced": "message_bounced",
    "failed": MESSAGE_FAILED,
    "suppressed": MESSAGE_SKIPPED,
}


def status_event(record: MessageStatus) -> Event | None:
    """What flows hear of a message's fate: a bounce (the address is dead), a message that failed or was not
    sent (with its reason, for the contact's timeline and a notify step's `on_failure`) and a delivered webhook
    (a notify step may wait for it). Delivered email and deferrals stay with the sender: there are many."""
    if record.status == "sent" and record.channel == "webhook":
        kind = MESSAGE_DELIVERED
    else:
        found = _STATUS_EVENTS.get(record.status)
        if found is None:
            return None
        kind = found
    data: dict[str, Any] = {"channel": record.channel, "detail": record.detail}
    if kind in (MESSAGE_FAILED, MESSAGE_SKIPPED):
        data.update(reason=record.detail or record.status, flow_id=record.flow_id, step_id=record.step_id)
        data["flow_version"] = record.flow_version
        data["missing"] = (record.detail or "").startswith(MISSING_DATA)
    return Event(id=record.event_id, type=kind, at=record.occurred_at, data=data, message_id=record.message_id)


def outcome_record(event: Event, workspace_id: str, contact_id: str, now: datetime) -> OutgoingRecord | None:
    """A message of a flow that failed or was skipped, as the flow's transition (`failed` / `skipped` at its
    step, with the reason): recorded whether or not its enrollment still runs."""
    data = event.data
    if event.type not in (MESSAGE_FAILED, MESSAGE_SKIPPED) or not data.get("flow_id"):
        return None
    return transition_out(
        event_id=stable_id(event.id, "outcome"),
        workspace_id=workspace_id,
        contact_id=contact_id,
        occurred_at=event.at,
        received_at=now,
        flow_id=str(data["flow_id"]),
        flow_version=int(data.get("flow_version") or 1),
        step_id=data.get("step_id"),
        kind="failed" if event.type == MESSAGE_FAILED else "skipped",
        reason=str(data.get("reason") or ""),
        variant=None,
    )


def profile_attributes(profile: dict[str, Any]) -> dict[str, Any]:
    """The contact's custom attributes with the standard profile fields alongside."""
    found = {name: profile[name] for name in _PROFILE_ATTRIBUTES if profile.get(name) is not None}
    return {**found, **(profile.get("attributes") or {})}


def attribute_changes(
    record: ContactChanged, before: dict[str, Any] | None, after: dict[str, Any], at: datetime
) -> list[Event]:
    """One `attribute_changed` event per attribute whose value differs from what was last seen."""
    if before is None:
        return []
    changed = sorted(name for name in after.keys() | before.keys() if after.get(name) != before.get(name))
    return [
        Event(
            id=stable_id(record.event_id, name),
            type=ATTRIBUTE_CHANGED,
            at=at,
            data={"attribute": name, "value": after.get(name), "previous": before.get(name)},
        )
        for name in changed
    ]


def contact_view(
    workspace_id: str,
    contact_id: str,
    profile: dict[str, Any],
    *,
    signed_up_at: datetime | None,
    history: tuple[Event, ...],
    suppression: str | None,
    subscriptions: dict[str, Any] | None = None,
    segments: frozenset[str] = frozenset(),
    facts: CustomerFacts | None = None,
) -> ContactView:
    """Snapshot of a contact. `suppression` is the strongest reason found for the address, if any;
    `subscriptions` the contact's consent by topic (`*` for marketing as a whole)."""
    types = {event.type for event in history if not event.machine}
    # An unsubscribe in history counts until the person subscribes again (then `*` says so).
    regranted = (subscriptions or {}).get("*") == "subscribed"
    status: Any = "subscribed"
    if suppression in ("erased",):
        status = "erased"
    elif suppression in ("bounced", "complained") or "message_bounced" in types:
        status = "bounced"
    elif suppression is not None or (UNSUBSCRIBED in types and not regranted):
        status = "unsubscribed"
    return ContactView(
        id=contact_id,
        workspace_id=workspace_id,
        time_zone=profile.get("timezone"),
        signed_up_at=signed_up_at,
        status=status,
        attributes=profile_attributes(profile),
        tags=frozenset(profile.get("tags") or ()),
        segments=segments,
        subscriptions=subscriptions if subscriptions is not None else {},
        history=history,
        facts=facts or CustomerFacts(),
    )


def transition_record(
    transition: Transition, *, workspace_id: str, contact_id: str, flow_id: str, version: int, enrollment_id: str,
    index: int, now: datetime,
) -> OutgoingRecord:  # fmt: skip
    """The engine's transition as a `FlowTransition` record, its id stable across replays."""
    return transition_out(
        event_id=stable_id(enrollment_id, transition.at.isoformat(), str(index), transition.event),
        workspace_id=workspace_id,
        contact_id=contact_id,
        occurred_at=transition.at,
        received_at=now,
        flow_id=flow_id,
        flow_version=version,
        step_id=transition.step_id,
        kind=_TRANSITION_KINDS.get(transition.event, transition.event),
        reason=transition.reason,
        variant=transition.variant,
    )


def held_record(
    flow: Flow, workspace_id: str, contact_id: str, trigger: Event, reason: str, now: datetime,
    kind: Literal["held", "refused"] = "held",
) -> FlowTransition:  # fmt: skip
    """A flow entry kept back (`held`: double opt-in not yet confirmed) or turned away (`refused`: no consent,
    unsubscribed, suppressed), with its reason and no step; one per trigger event, however often it is read."""
    return FlowTransition(
        event_id=stable_id(workspace_id, contact_id, flow.id, trigger.id, kind),
        workspace_id=workspace_id,
        contact_id=contact_id,
        occurred_at=now,
        received_at=now,
        flow_id=flow.id,
        flow_version=flow.version,
        kind=kind,
        reason=reason,
    )
