"""Carrying out the engine's decisions inside a unit: state, timers, ledger, profile, outgoing records.

State, timers and ledger rows are kept by the unit's working set and written in bulk before commit.

`notify` steps become message requests on the webhook channel: the sender already delivers,
signs and retries webhooks, so the scheduler never calls out itself. They count as
transactional, because a notification goes to the shop's staff, not to the contact.
"""

from __future__ import annotations

from typing import Any

from services.scheduler.adapters.contacts import update_profile
from services.scheduler.domain import (
    Decision,
    EnrollmentState,
    Flow,
    Notify,
    RequestMessage,
    ScheduleTimer,
    SentMessage,
    Transition,
    UpdateContact,
)
from services.scheduler.domain.actions import CancelTimer
from services.scheduler.outgoing import request_out
from services.scheduler.records import stable_id, transition_record
from services.scheduler.unit import Unit
from shared.contract import ContactChanged, ContactFields, MessageRequested
from shared.contract.topics import CONTACTS, MESSAGES_REQUESTED
from shared.kafka.producer import OutgoingRecord

WEBHOOK_TEMPLATE = "webhook"


def _request(
    unit: Unit, flow: Flow, message_id: str, state: EnrollmentState, step_id: str, **fields: Any
) -> MessageRequested:
    """A message request from this flow version, stamped with the unit's time."""
    return MessageRequested(
        event_id=message_id,
        workspace_id=state.workspace_id,
        contact_id=state.contact_id,
        occurred_at=unit.now,
        received_at=unit.now,
        flow_id=flow.id,
        flow_version=flow.version,
        step_id=step_id,
        **fields,
    )


async def _update_contact(unit: Unit, action: UpdateContact, workspace_id: str, change_id: str) -> None:
    profile = await update_profile(
        unit.connection, workspace_id, action.contact_id, action.set, action.add_tags, action.remove_tags
    )
    fields: dict[str, Any] = {k: v for k, v in profile.items() if k in ContactFields.model_fields}
    record = ContactChanged(
        **fields,
        event_id=change_id,
        workspace_id=workspace_id,
        contact_id=action.contact_id,
        occurred_at=unit.now,
        received_at=unit.now,
    )
    unit.outgoing.append(OutgoingRecord.of(CONTACTS, record))


def _variables(action: RequestMessage) -> dict[str, bool | str]:
    """Template data the flow adds: the split variant (also what analytics counts by) and the best-time mark."""
    found: dict[str, bool | str] = {"best_time": True} if action.best_time else {}
    if action.variant is not None:
        found["variant"] = action.variant
    return found


async def carry_out(unit: Unit, flow: Flow, decision: Decision) -> bool:
    """Store the decision and queue its effects; True when the contact's profile changed."""
    state = decision.state
    workspace_id, contact_id = state.workspace_id, state.contact_id
    unit.contacts.save(state)
    profile_changed = False
    for index, action in enumerate(decision.actions):
        match action:
            case ScheduleTimer():
                unit.contacts.schedule(
                    (action.timer_id, "step", workspace_id, contact_id, state.enrollment_id, None, action.at)
                )
                unit.timer_at(action.at)
            case CancelTimer():
                unit.contacts.cancel(action.timer_id)
            case RequestMessage():
                sent = SentMessage(at=unit.now, channel=action.channel, category=action.category, flow_id=flow.id)
                unit.contacts.send(action.message_id, (workspace_id, contact_id), sent)
                unit.outgoing.append(request_out(
                    event_id=action.message_id, workspace_id=workspace_id, contact_id=contact_id,
                    occurred_at=unit.now, received_at=unit.now, flow_id=flow.id, flow_version=flow.version,
                    step_id=action.step_id, channel=action.channel, template_id=action.template,
                    category=action.category, topic=flow.topic, variables=_variables(action),
                ))  # fmt: skip
            case Notify():
                notice = _request(
                    unit, flow, action.notification_id, state, action.step_id,
                    channel="webhook", template_id=WEBHOOK_TEMPLATE, category="transactional",
                    variables={"url": action.url, "payload": action.payload},
                )  # fmt: skip
                unit.outgoing.append(OutgoingRecord.of(MESSAGES_REQUESTED, notice))
            case UpdateContact():
                change_id = stable_id(state.enrollment_id, action.step_id, str(state.visits.get(action.step_id, 0)))
                await _update_contact(unit, action, workspace_id, f"flow-{change_id}")
                unit.contacts.forget_view((workspace_id, action.contact_id))
                profile_changed = True
            case Transition():
                record = transition_record(
                    action, workspace_id=workspace_id, contact_id=contact_id, flow_id=flow.id,
                    version=flow.version, enrollment_id=state.enrollment_id, index=index, now=unit.now,
                )  # fmt: skip
                unit.outgoing.append(record)
    return profile_changed
