"""An enrollment evolved by the engine is the same value pydantic's own copy would give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.scheduler.domain import EnrollmentState
from services.scheduler.domain.state import Waiting

AT = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)
WAITING = Waiting(step_id="later", kind="wait", until=AT + timedelta(days=1), timer_id="e-1:t1")
STATE = EnrollmentState(
    enrollment_id="e-1", workspace_id="shop", contact_id="c-1", flow_id="welcome", flow_version=2, entered_at=AT,
    step_id="later", waiting=WAITING, visits={"later": 1}, timers_set=1, trigger_event={"id": "s-1", "type": "signup"},
)  # fmt: skip


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"waiting": None},
        {"status": "completed", "exit_reason": "completed", "waiting": None, "step_id": None},
        {"messages": {"hello": "m-1"}, "visits": {"later": 1, "hello": 1}},
        {"paused": True, "due_while_paused": True},
    ],
)
def test_evolve_is_model_copy(changes: dict[str, Any]) -> None:
    evolved = STATE.evolve(**changes)
    copied = STATE.model_copy(update=changes)
    assert evolved == copied
    assert evolved.model_fields_set == copied.model_fields_set
    assert evolved.model_dump_json() == copied.model_dump_json()
    assert evolved.model_dump_json(exclude_unset=True) == copied.model_dump_json(exclude_unset=True)


def test_evolve_leaves_the_original_alone() -> None:
    evolved = STATE.evolve(visits={"later": 2})
    assert STATE.visits == {"later": 1}
    assert evolved.visits == {"later": 2}
    assert evolved.active and evolved.waiting == WAITING
    with pytest.raises(ValueError, match="frozen"):
        evolved.step_id = "other"  # type: ignore[misc]
