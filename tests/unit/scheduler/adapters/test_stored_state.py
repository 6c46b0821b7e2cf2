"""An enrollment's row (columns + document) holds the whole state, whichever way the row was written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.scheduler.adapters.stored_state import IN_COLUMNS, document, state_of
from services.scheduler.domain import EnrollmentState
from services.scheduler.domain.state import Waiting

AT = datetime(2025, 3, 3, 8, 30, 0, 123, tzinfo=UTC)
WAITING = Waiting(step_id="later", kind="wait", until=AT + timedelta(days=1), timer_id="e-1:t1")
TRIGGER = {"id": "s-1", "type": "signup", "at": "2025-03-03T08:30:00.000123Z", "data": {}, "message_id": None}
WAITING_STATE = EnrollmentState(
    enrollment_id="e-1", workspace_id="shop", contact_id="c-1", flow_id="welcome", flow_version=2, number=3,
    entered_at=AT, step_id="later", waiting=WAITING, visits={"later": 1}, timers_set=1, trigger_event=TRIGGER,
)  # fmt: skip
STATES = [
    WAITING_STATE,
    WAITING_STATE.evolve(
        status="completed",
        exit_reason="completed",
        waiting=None,
        step_id=None,
        visits={"later": 1, "hello": 1},
        messages={"hello": "m-1"},
    ),  # fmt: skip
    WAITING_STATE.evolve(paused=True, due_while_paused=True, variants={"split": "b"}, trigger_event=None),
    EnrollmentState(
        enrollment_id="e-2", workspace_id="shop", contact_id="c-2", flow_id="f", flow_version=1, entered_at=AT
    ),  # fmt: skip
]
# What a document's missing fields mean. Changing a default would change what stored rows say: add a field instead.
STORED_DEFAULTS: dict[str, Any] = {
    "number": 1, "status": "active", "exit_reason": None, "step_id": None, "waiting": None, "paused": False,
    "due_while_paused": False, "visits": {}, "messages": {}, "variants": {}, "timers_set": 0, "trigger_event": None,
    "received": {},
}  # fmt: skip


def _row(state: EnrollmentState, stored: str) -> dict[str, Any]:
    """The row as PostgreSQL gives it back: timestamps in UTC, the document as text."""
    columns = {name: getattr(state, name) for name in IN_COLUMNS}
    return columns | {"entered_at": state.entered_at.astimezone(UTC), "state": stored}


@pytest.mark.parametrize("state", STATES)
def test_a_stored_state_reads_back_equal(state: EnrollmentState) -> None:
    assert state_of(_row(state, document(state))) == state
    assert state_of(_row(state, document(state))).model_dump_json() == state.model_dump_json()


@pytest.mark.parametrize("state", STATES)
def test_rows_written_whole_read_the_same(state: EnrollmentState) -> None:
    assert state_of(_row(state, state.model_dump_json())) == state


def test_the_document_leaves_out_columns_and_defaults() -> None:
    stored = orjson.loads(document(STATES[1]))
    assert stored == {
        "status": "completed", "exit_reason": "completed", "visits": {"later": 1, "hello": 1},
        "messages": {"hello": "m-1"}, "timers_set": 1, "trigger_event": TRIGGER,
    }  # fmt: skip
    assert not orjson.loads(document(WAITING_STATE)).keys() & set(IN_COLUMNS)


def test_stored_defaults_are_the_models() -> None:
    defaults = {
        name: field.get_default(call_default_factory=True)
        for name, field in EnrollmentState.model_fields.items()
        if not field.is_required()
    }
    assert defaults == STORED_DEFAULTS
