"""A backlog of real enrollments waiting on real step timers, written with COPY.

The states are the engine's own: `start()` enrolls a contact in the bench's wait-then-send flow at a
virtual time a day before the timer is due, and every row is that state with its ids and times
put in (checked against `start()` for the first row), so the scheduler's timer loop fires them
exactly as it fires the ones intake creates: claim → engine → state + outbox in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.enroll import FLOW, FLOW_ID
from bench.stack import WORKSPACE
from services.scheduler.adapters.stored_state import document
from services.scheduler.domain import ContactView, Event, Flow, ScheduleTimer, load_flow, start

WAIT = timedelta(days=1)  # the flow's wait step
_ENROLLMENT = "@enrollment@"
_CONTACT = "@contact@"
_ENTERED = datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
_DUE = _ENTERED + WAIT
ENROLLMENT_COLUMNS = (
    "id", "workspace_id", "contact_id", "flow_id", "flow_version", "number", "state", "active", "entered_at",
)  # fmt: skip
TIMER_COLUMNS = ("id", "kind", "workspace_id", "contact_id", "enrollment_id", "due_at")


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _start(flow: Flow, enrollment_id: str, contact_id: str, entered: datetime) -> tuple[str, str]:
    """The engine's state after enrolling at `entered`, and the step timer it asks for."""
    trigger = Event(id=f"{enrollment_id}-signup", type="signup", at=entered)
    contact = ContactView(id=contact_id, workspace_id=WORKSPACE, subscriptions={})
    decision = start(flow, contact, entered, enrollment_id, trigger=trigger)
    timer = next(a for a in decision.actions if isinstance(a, ScheduleTimer))
    assert timer.at == entered + WAIT
    return document(decision.state), timer.timer_id  # as the scheduler stores it


@dataclass
class Backlog:
    """Rows for `count` enrollments named `prefix`-n, the n-th due at `due(n)`."""

    flow: Flow
    state: str  # the engine's state with placeholders for ids and times
    timer_id: str

    @classmethod
    def of(cls, version: int) -> Backlog:
        flow = load_flow(FLOW, f"{FLOW_ID}.yaml").model_copy(update={"version": version})
        state, timer_id = _start(flow, _ENROLLMENT, _CONTACT, _ENTERED)
        state = state.replace(_iso(_ENTERED), "@entered@").replace(_iso(_DUE), "@due@")
        return cls(flow, state, timer_id)

    def _state(self, enrollment_id: str, contact_id: str, due: datetime) -> str:
        return (
            self.state.replace(_ENROLLMENT, enrollment_id)
            .replace(_CONTACT, contact_id)
            .replace("@entered@", _iso(due - WAIT))
            .replace("@due@", _iso(due))
        )

    def check(self, enrollment_id: str, contact_id: str, due: datetime) -> None:
        """The substituted row is what `start()` itself answers for it."""
        assert (self._state(enrollment_id, contact_id, due), self.timer_id.replace(_ENROLLMENT, enrollment_id)) == (
            _start(self.flow, enrollment_id, contact_id, due - WAIT)
        )

    def rows(self, prefix: str, due: list[datetime]) -> Iterator[tuple[tuple[object, ...], tuple[object, ...]]]:
        version = self.flow.version
        for n, at in enumerate(due):
            enrollment_id, contact_id = f"{prefix}-{n}", f"{prefix}-c{n}"
            state = self._state(enrollment_id, contact_id, at)
            yield (
                (enrollment_id, WORKSPACE, contact_id, FLOW_ID, version, 1, state, True, at - WAIT),
                (self.timer_id.replace(_ENROLLMENT, enrollment_id), "step", WORKSPACE, contact_id, enrollment_id, at),
            )


async def write_backlog(
    connection: asyncpg.Connection,
    backlog: Backlog,
    prefix: str,
    due: list[datetime],
    *,
    with_contacts: bool = False,
    chunk: int = 200_000,
) -> None:
    """COPY the enrollments and their timers, a chunk per transaction; `with_contacts` adds each contact
    (with an address) for the ones that will fire, so their send step has someone to write to."""
    if due:
        backlog.check(f"{prefix}-0", f"{prefix}-c0", due[0])
    if with_contacts:
        contacts = [(WORKSPACE, f"{prefix}-c{n}", f'{{"email": "{prefix}-{n}@example.com"}}') for n in range(len(due))]
        await connection.copy_records_to_table(
            "contacts", records=contacts, columns=("workspace_id", "contact_id", "profile")
        )
    rows = backlog.rows(prefix, due)
    while True:
        enrollments, timers = [], []
        for enrollment, timer in rows:
            enrollments.append(enrollment)
            timers.append(timer)
            if len(enrollments) == chunk:
                break
        if not enrollments:
            return
        async with connection.transaction():
            await connection.copy_records_to_table("enrollments", records=enrollments, columns=ENROLLMENT_COLUMNS)
            await connection.copy_records_to_table("timers", records=timers, columns=TIMER_COLUMNS)


async def fired_at(connection: asyncpg.Connection, prefix: str, written: datetime) -> dict[str, datetime]:
    """When each enrollment of the backlog was moved on: its row's update time is the firing transaction's."""
    rows = await connection.fetch(
        "SELECT id, updated_at FROM enrollments WHERE id > $1 AND id < $2 AND updated_at > $3",
        f"{prefix}-",
        f"{prefix}.",
        written,
    )
    return {row["id"]: row["updated_at"] for row in rows}
