"""Which incoming events matter to an enrollment: goals, unsubscribes, and the awaited event."""

from __future__ import annotations

from datetime import datetime

from .contact import (
    ATTRIBUTE_CHANGED,
    CONFIRMED,
    CONTACT_ERASED,
    ENROLL_REQUESTED,
    MESSAGE_CLICKED,
    MESSAGE_OPENED,
    PREFERENCES_CHANGED,
    SEGMENT_ENTERED,
    SEGMENT_LEFT,
    UNSUBSCRIBED,
    ContactView,
    Event,
)
from .expressions import ConditionScope, holds, scope
from .flow import Flow, Goal
from .policy import marketing_consent
from .state import EnrollmentState
from .steps import WaitForStep

# Events the platform emits about a contact rather than ones the contact does in the shop.
SYSTEM_EVENTS = frozenset(
    {MESSAGE_OPENED, MESSAGE_CLICKED, UNSUBSCRIBED, SEGMENT_ENTERED, SEGMENT_LEFT, ATTRIBUTE_CHANGED}
    | {ENROLL_REQUESTED, CONTACT_ERASED, CONFIRMED, PREFERENCES_CHANGED}
)


def reached_goal(
    flow: Flow, event: Event, contact: ContactView, now: datetime, refused: list[str] | None = None
) -> Goal | None:
    """The goal this event reaches; `refused` collects why a goal's condition was too costly to evaluate."""
    for goal in flow.goals:
        if goal.event == event.type and (goal.where is None or _holds(goal.where, scope(contact, event, now), refused)):
            return goal
    return None


def _holds(source: str, context: ConditionScope, refused: list[str] | None) -> bool:
    verdict = holds(source, context)
    if refused is not None:
        refused += context.refused
    return verdict


def forced_exit(flow: Flow, event: Event, contact: ContactView) -> str | None:
    """Why this event ends the enrollment regardless of where it is: erasure, an unsubscribe that
    covers this flow (all marketing, or the flow's own topic), or a preference change that leaves
    the contact without consent to the flow's topic (`contact` holds the subscriptions after it)."""
    if event.type == CONTACT_ERASED:
        return "contact erased"
    if event.type == PREFERENCES_CHANGED:
        return marketing_consent(contact, flow.topic) if flow.category == "marketing" else None
    if event.type != UNSUBSCRIBED:
        return None
    topic = event.data.get("topic")
    if flow.category == "marketing" and (topic is None or topic == flow.topic):
        return "unsubscribed" if topic is None else f"unsubscribed from {topic}"
    return None


def _same_kind(step: WaitForStep, event: Event, state: EnrollmentState) -> bool:
    if step.event in (MESSAGE_OPENED, MESSAGE_CLICKED):
        if event.type != step.event or (event.machine and not step.include_machine):
            return False
        wanted = [state.messages.get(step.of_step)] if step.of_step else list(state.messages.values())
        return event.message_id is not None and event.message_id in wanted
    if step.event == ATTRIBUTE_CHANGED:
        return event.type == ATTRIBUTE_CHANGED and step.attribute in (None, event.data.get("attribute"))
    if step.event == "any":
        return event.type not in SYSTEM_EVENTS
    return event.type == step.event


def awaited(
    step: WaitForStep,
    event: Event,
    state: EnrollmentState,
    contact: ContactView,
    now: datetime,
    refused: list[str] | None = None,
) -> bool:
    """Whether `event` is the one a wait_for step is waiting on (machine opens/clicks ignored by default);
    `refused` collects why its condition was too costly to evaluate."""
    if not _same_kind(step, event, state):
        return False
    return step.where is None or _holds(step.where, scope(contact, event, now, state.messages), refused)
