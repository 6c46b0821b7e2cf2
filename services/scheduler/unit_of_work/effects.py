"""Carrying out the engine's decisions inside a unit: state, timers, ledger, profile, outgoing records.

State, timers and ledger rows are kept by the unit's working set and written in bulk before commit.

`notify` steps become message requests on the webhook channel: the sender already delivers,
signs and retries webhooks, so the scheduler never calls out itself. They count as
transactional, because a notification goes to the shop's staff, not to the contact.
"""

from __future__ import annotations

from typing import Any

from services.scheduler.adapters.contacts import update_profile
from services.scheduler.adapters.coupons import IssueKey, issue_coupon
from services.scheduler.adapters.outgoing import request_out
from services.scheduler.adapters.records import stable_id, transition_record
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
from services.scheduler.domain.contact import message_value
from services.scheduler.domain.steps import SendStep
from services.scheduler.unit_of_work.unit import Unit
from shared.consent import store as consent
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
    if action.unsubscribe is not None:
        off = action.unsubscribe
        await consent.withdraw_by_flow(
            unit.connection, workspace_id, action.contact_id, off.topic or "*", off.reason, unit.now, change_id
        )
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


class _Context:
    """What a decision's messages may show about the flow, built at most once per decision: the event that
    started the enrollment, the events its wait_for steps received, the flow and (per message) the step.
    Frozen into the request, so a retry renders what the first attempt did."""

    def __init__(self, flow: Flow, state: EnrollmentState) -> None:
        self._flow, self._state = flow, state
        self._base: dict[str, Any] | None = None

    def of(self, step_id: str, locale: str | None = None) -> dict[str, Any]:
        if self._base is None:
            flow, state = self._flow, self._state
            base: dict[str, Any] = {"flow": {"id": flow.id, "name": flow.name, "version": flow.version}}
            if state.trigger_event:
                base["event"] = message_value(state.trigger_event)
            if state.received:
                base["events"] = state.received
            self._base = base
        frozen = {**self._base, "step": {"id": step_id}}
        return {**frozen, "locale": locale} if locale else frozen


def _variables(action: RequestMessage) -> dict[str, Any]:
    """Template data the flow adds: the split variant (also what analytics counts by) and the best-time mark."""
    found: dict[str, Any] = {"best_time": True} if action.best_time else {}
    if action.variant is not None:
        found["variant"] = action.variant
    return found


async def _with_coupon(unit: Unit, flow: Flow, state: EnrollmentState, action: RequestMessage) -> dict[str, Any] | str:
    """The message's variables, with the step's discount code when it gives one; the reason when none is left."""
    variables = _variables(action)
    step = flow.step(action.step_id)
    if not isinstance(step, SendStep) or step.coupon is None:
        return variables
    key = IssueKey(state.workspace_id, state.enrollment_id, action.step_id, state.contact_id, flow.id)
    coupon = await issue_coupon(unit.connection, key, step.coupon, unit.now)
    if coupon is None:
        return step.coupon.missing_reason()
    return {**variables, "coupon": coupon.template_value()}


def _transition(unit: Unit, flow: Flow, state: EnrollmentState, transition: Transition, index: int) -> OutgoingRecord:
    return transition_record(
        transition, workspace_id=state.workspace_id, contact_id=state.contact_id, flow_id=flow.id,
        version=flow.version, enrollment_id=state.enrollment_id, index=index, now=unit.now,
    )  # fmt: skip


async def carry_out(unit: Unit, flow: Flow, decision: Decision) -> bool:
    """Store the decision and queue its effects; True when the contact's profile changed."""
    state = decision.state
    workspace_id, contact_id = state.workspace_id, state.contact_id
    unit.contacts.save(state)
    profile_changed = False
    context = _Context(flow, state)
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
                variables = await _with_coupon(unit, flow, state, action)
                if isinstance(variables, str):  # no code to give: the step fails, never a mail with a blank code
                    failed = Transition(event="failed", at=unit.now, step_id=action.step_id, reason=variables)
                    unit.outgoing.append(_transition(unit, flow, state, failed, index))
                    continue
                sent = SentMessage(at=unit.now, channel=action.channel, category=action.category, flow_id=flow.id)
                unit.contacts.send(action.message_id, (workspace_id, contact_id), sent)
                unit.outgoing.append(request_out(
                    event_id=action.message_id, workspace_id=workspace_id, contact_id=contact_id,
                    occurred_at=unit.now, received_at=unit.now, flow_id=flow.id, flow_version=flow.version,
                    step_id=action.step_id, channel=action.channel, template_id=action.template,
                    category=action.category, topic=flow.topic, variables=variables,
                    context=context.of(action.step_id, action.locale),
                ))  # fmt: skip
            case Notify():
                notice = _request(
                    unit, flow, action.notification_id, state, action.step_id,
                    channel="webhook", template_id=WEBHOOK_TEMPLATE, category="transactional",
                    variables={"url": action.url, "payload": action.payload}, context=context.of(action.step_id),
                )  # fmt: skip
                unit.outgoing.append(OutgoingRecord.of(MESSAGES_REQUESTED, notice))
            case UpdateContact():
                change_id = stable_id(state.enrollment_id, action.step_id, str(state.visits.get(action.step_id, 0)))
                await _update_contact(unit, action, workspace_id, f"flow-{change_id}")
                unit.contacts.forget_view((workspace_id, action.contact_id))
                profile_changed = True
            case Transition():
                unit.outgoing.append(_transition(unit, flow, state, action, index))
    return profile_changed
