"""What one contact would receive from a flow, on a virtual clock: the API's simulate and the console's
simulation page run the same engine on the same stored version and the workspace's policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.scheduler.adapters.policy import load_policy
from services.scheduler.domain import ContactView
from services.scheduler.domain.simulation import Timeline, costly_condition, parse_events, simulate
from services.scheduler.unit_of_work.unit import Units


class SimulationRefused(ValueError):
    """The contact or events cannot be read, or a condition would cost too much to evaluate."""

    def __init__(self, message: str, field: str = "events") -> None:
        super().__init__(message)
        self.field = field  # what the caller got wrong: `contact` or `events`


@dataclass(frozen=True, slots=True)
class Simulated:
    flow_id: str
    version: int
    timeline: Timeline
    time_zone: str  # the contact's, else the workspace policy's: the timeline is read in it


async def run_simulation(
    units: Units,
    workspace_id: str,
    flow_id: str,
    *,
    contact: dict[str, Any],
    events: list[dict[str, Any]],
    start: datetime | None = None,
    days: int = 60,
    version: int | None = None,
) -> Simulated:
    """Raises LookupError for a flow (or version) the workspace does not have, SimulationRefused for bad input."""
    start_at = start or datetime.now(UTC)
    start_at = start_at if start_at.tzinfo else start_at.replace(tzinfo=UTC)
    async with units.pool.acquire() as connection:
        head = await units.catalog.head(connection, workspace_id, flow_id)
        if head is None:
            raise LookupError(f"no flow {flow_id!r}")
        flow = await units.catalog.flow(connection, workspace_id, flow_id, version or head.current_version)
        policy = await load_policy(connection, workspace_id)
    if flow is None:
        raise LookupError(f"no version {version} of {flow_id!r}")
    try:
        person = ContactView.model_validate({"id": "simulated", **contact, "workspace_id": workspace_id})
    except (ValueError, TypeError) as error:
        raise SimulationRefused(f"bad contact or events: {error}", "contact") from error
    try:
        parsed = parse_events(events, start_at)
    except (ValueError, KeyError, TypeError) as error:
        raise SimulationRefused(f"bad contact or events: {error}") from error
    costly = costly_condition(flow, person, parsed, start_at)
    if costly is not None:
        raise SimulationRefused(costly)
    timeline = simulate(flow, person, parsed, start_at, days, policy)
    return Simulated(flow_id, flow.version, timeline, person.time_zone or policy.time_zone)
