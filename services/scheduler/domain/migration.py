"""Live edits: move running enrollments onto a new flow version where that is safe."""

from __future__ import annotations

from .flow import Flow
from .state import EnrollmentState


def migrate(state: EnrollmentState, new_flow: Flow) -> EnrollmentState:
    """Move an enrollment to `new_flow` if its current step id still exists there as the same kind
    of step; otherwise it finishes on the version it started on. Timers carry over unchanged."""
    if not state.active or new_flow.id != state.flow_id or new_flow.version <= state.flow_version:
        return state
    if state.step_id is None:
        return state
    new_step = new_flow.step(state.step_id)
    if new_step is None:
        return state
    if state.waiting is not None and state.waiting.kind == "wait_for" and new_step.type != "wait_for":
        return state
    if state.waiting is not None and state.waiting.kind == "policy" and new_step.type != "send":
        return state
    return state.model_copy(update={"flow_version": new_flow.version})
