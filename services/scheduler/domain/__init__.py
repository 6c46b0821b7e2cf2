"""The pure journey domain: flow language, validation, engine, workspace policies and simulation.

Nothing here reads a clock, a file, a socket or a table; the scheduler service does that and calls in.
"""

from .actions import (
    Action,
    CancelTimer,
    Decision,
    Notify,
    RequestMessage,
    ScheduleTimer,
    Transition,
    UpdateContact,
)
from .contact import ContactView, Event
from .engine import EventReceived, TimerFired, advance, pause, resume, start
from .entry import EntryDecision, PastEnrollment, decide_entry, next_date_entry, triggered_by
from .flow import Flow, Goal
from .migration import migrate
from .policy import (
    AWAITING_CONFIRMATION,
    FrequencyCap,
    PolicyVerdict,
    QuietHours,
    SentMessage,
    WorkspacePolicy,
    judge_send,
    marketing_consent,
)
from .schema import flow_json_schema, render_flow_schema
from .segments import Segment, members_of, membership_events
from .state import EnrollmentState, Waiting
from .validation import FlowInvalid, FlowProblem, check_flow, load_flow

__all__ = [
    "AWAITING_CONFIRMATION",
    "Action",
    "CancelTimer",
    "ContactView",
    "Decision",
    "EnrollmentState",
    "EntryDecision",
    "Event",
    "EventReceived",
    "Flow",
    "FlowInvalid",
    "FlowProblem",
    "FrequencyCap",
    "Goal",
    "Notify",
    "PastEnrollment",
    "PolicyVerdict",
    "QuietHours",
    "RequestMessage",
    "ScheduleTimer",
    "Segment",
    "SentMessage",
    "TimerFired",
    "Transition",
    "UpdateContact",
    "Waiting",
    "WorkspacePolicy",
    "advance",
    "check_flow",
    "decide_entry",
    "flow_json_schema",
    "judge_send",
    "load_flow",
    "marketing_consent",
    "members_of",
    "membership_events",
    "migrate",
    "next_date_entry",
    "pause",
    "render_flow_schema",
    "resume",
    "start",
    "triggered_by",
]
