"""A unit's enrollments and timers go to PostgreSQL in one statement each, with one-by-one semantics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.scheduler.adapters.enrollments import TimerRow, save_enrollments, schedule_timers
from services.scheduler.adapters.stored_state import STATE_COLUMNS, state_of
from services.scheduler.domain import EnrollmentState
from services.scheduler.unit_of_work.working_set import WorkingSet
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack

AT = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)


@pytest.fixture
async def connection(stack: RealStack) -> AsyncIterator[asyncpg.Connection]:
    opened = await asyncpg.connect(stack.database_url)
    yield opened
    await opened.close()


def _state(enrollment_id: str, contact_id: str, number: int, **changes: object) -> EnrollmentState:
    return EnrollmentState(
        enrollment_id=enrollment_id, workspace_id="w", contact_id=contact_id, flow_id="welcome", flow_version=1,
        number=number, entered_at=AT, **changes,
    )  # fmt: skip


async def test_ending_and_reentering_in_one_statement_keeps_one_live_enrollment(connection: asyncpg.Connection) -> None:
    tag = uuid.uuid4().hex[:8]
    contact, first, second = f"c-{tag}", f"e1-{tag}", f"e2-{tag}"
    async with connection.transaction():
        await save_enrollments(connection, [_state(first, contact, 1, step_id="later", visits={"later": 1})])
    async with connection.transaction():
        # The first ends before the second starts, as the unit saved them: the one-live index holds.
        await save_enrollments(connection, [_state(first, contact, 1, status="completed"), _state(second, contact, 2)])
    rows = await connection.fetch(
        f"SELECT {STATE_COLUMNS}, active FROM enrollments WHERE contact_id = $1 ORDER BY id",
        contact,
    )

    assert [(row["enrollment_id"], row["number"], row["active"]) for row in rows] == [
        (first, 1, False),
        (second, 2, True),
    ]
    assert [state_of(row) for row in rows] == [
        _state(first, contact, 1, status="completed"),
        _state(second, contact, 2),
    ]


async def test_timers_scheduled_together_move_and_the_last_word_wins(connection: asyncpg.Connection) -> None:
    tag = uuid.uuid4().hex[:8]
    contact = f"c-{tag}"

    def timer(name: str, due: datetime) -> TimerRow:
        return (f"{name}-{tag}", "step", "w", contact, f"e-{tag}", None, due)

    async with connection.transaction():
        await schedule_timers(connection, [timer("a", AT), timer("b", AT)])
        await connection.execute("UPDATE timers SET failures = 2 WHERE id = $1", f"a-{tag}")
    async with connection.transaction():
        later = AT + timedelta(days=1)
        await schedule_timers(connection, [timer("a", later), timer("c", AT), timer("c", later)])
    rows = await connection.fetch("SELECT id, due_at, failures FROM timers WHERE contact_id = $1 ORDER BY id", contact)
    await connection.execute("DELETE FROM timers WHERE contact_id = $1", contact)

    assert [(row["id"], row["due_at"], row["failures"]) for row in rows] == [
        (f"a-{tag}", later, 0),
        (f"b-{tag}", AT, 0),
        (f"c-{tag}", later, 0),
    ]


async def test_a_unit_updates_what_it_read_and_inserts_what_it_started(connection: asyncpg.Connection) -> None:
    tag = uuid.uuid4().hex[:8]
    contact, first, second = f"c-{tag}", f"e1-{tag}", f"e2-{tag}"
    async with connection.transaction():
        await save_enrollments(connection, [_state(first, contact, 1, step_id="later")])
    async with connection.transaction():
        working = WorkingSet()
        await working.load(connection, [("w", contact)], AT, days=30, limit=10, since=AT - timedelta(days=30))
        [stored] = working.live(("w", contact))
        # The stored one ends and the contact enters again, as a re-entry in one batch would.
        working.save(stored.evolve(status="exited", exit_reason="goal", step_id=None))
        working.save(_state(second, contact, 2))
        await working.flush(connection)
        assert [state.enrollment_id for state in working.live(("w", contact))] == [second]
    rows = await connection.fetch(
        f"SELECT {STATE_COLUMNS}, active FROM enrollments WHERE contact_id = $1 ORDER BY id", contact
    )

    assert [state_of(row) for row in rows] == [
        _state(first, contact, 1, status="exited", exit_reason="goal"),
        _state(second, contact, 2),
    ]
    assert [row["active"] for row in rows] == [False, True]
