"""Flow-wide operations over live enrollments: resume after a pause, migrate to the current version.

Both walk the flow's live enrollments a page at a time, each page in its own unit with the
contacts locked, so a large flow never holds one huge transaction and intake keeps flowing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services.scheduler.adapters.enrollments import (
    contact_ids_page,
    enrollment,
    live_in_flow,
    lock_contacts,
    save_enrollment,
)
from services.scheduler.domain import EnrollmentState, migrate
from services.scheduler.unit_of_work.effects import carry_out
from services.scheduler.unit_of_work.unit import Unit, Units
from services.scheduler.usecases.journeys import Journeys

Step = Callable[[Unit, EnrollmentState], Awaitable[bool]]


async def _each_live(units: Units, workspace_id: str, flow_id: str, step: Step, *, paused_only: bool) -> int:
    changed, after = 0, ""
    while True:
        async with units.open() as unit:
            page = await live_in_flow(unit.connection, workspace_id, flow_id, after, 200, paused_only=paused_only)
            if not page:
                return changed
            await lock_contacts(unit.connection, [(workspace_id, contact_id) for _, contact_id in page])
            for enrollment_id, _ in page:
                state = await enrollment(unit.connection, enrollment_id)
                if state is not None and state.active and await step(unit, state):
                    changed += 1
            after = page[-1][0]


async def resume_flow(units: Units, journeys: Journeys, workspace_id: str, flow_id: str) -> int:
    """Resume paused enrollments now (re-arming timers that came due meanwhile); returns how many."""

    async def step(unit: Unit, state: EnrollmentState) -> bool:
        decision = await journeys.sync_pause(unit, state)
        if decision.state == state:
            return False
        flow = await unit.catalog.flow(unit.connection, workspace_id, flow_id, state.flow_version)
        if flow is None:
            return False
        await carry_out(unit, flow, decision)
        return True

    return await _each_live(units, workspace_id, flow_id, step, paused_only=True)


async def migrate_flow(units: Units, workspace_id: str, flow_id: str, version: int) -> int:
    """Move live enrollments to `version` where their step still exists as the same kind; returns how many."""

    async def step(unit: Unit, state: EnrollmentState) -> bool:
        if state.flow_version >= version:
            return False
        target = await unit.catalog.flow(unit.connection, workspace_id, flow_id, version)
        moved = migrate(state, target) if target is not None else state
        if moved == state:
            return False
        await save_enrollment(unit.connection, moved)
        return True

    return await _each_live(units, workspace_id, flow_id, step, paused_only=False)


async def arm_flow_dates(units: Units, journeys: Journeys, workspace_id: str) -> int:
    """Arm date triggers (birthdays) for every known contact of the workspace, a page at a time."""
    armed, after = 0, ""
    while True:
        async with units.open() as unit:
            contacts = await contact_ids_page(unit.connection, workspace_id, after, 500)
            if not contacts:
                return armed
            await lock_contacts(unit.connection, [(workspace_id, contact_id) for contact_id in contacts])
            for contact_id in contacts:
                await journeys.arm_dates(unit, workspace_id, contact_id)
            armed += len(contacts)
            after = contacts[-1]
