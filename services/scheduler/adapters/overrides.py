"""What analytics feeds back into flows: the audience's engaged hours and declared split winners."""

from __future__ import annotations

import time

import asyncpg

from services.scheduler.domain import Flow, WorkspacePolicy
from services.scheduler.domain.flow import SplitWinner
from services.scheduler.domain.steps import SplitStep


async def with_audience_hours(
    connection: asyncpg.Connection, workspace_id: str, policy: WorkspacePolicy
) -> WorkspacePolicy:
    """The policy with the workspace's engaged hours filled in, unless the policy names its own."""
    if policy.audience_hours:
        return policy
    rows = await connection.fetch(
        "SELECT hour_of_week, engagements FROM analytics_send_hours WHERE workspace_id = $1", workspace_id
    )
    if not rows:
        return policy
    return policy.model_copy(update={"audience_hours": {row["hour_of_week"]: row["engagements"] for row in rows}})


async def split_winners(connection: asyncpg.Connection, workspace_id: str, flow_id: str) -> dict[str, SplitWinner]:
    rows = await connection.fetch(
        "SELECT step_id, variant, decided_at FROM analytics_winners WHERE workspace_id = $1 AND flow_id = $2",
        workspace_id,
        flow_id,
    )
    return {row["step_id"]: SplitWinner(variant=row["variant"], since=row["decided_at"]) for row in rows}


class Winners:
    """Split winners per flow, re-read at most every `ttl_seconds` (a winner is declared once, rarely)."""

    def __init__(self, ttl_seconds: float = 5.0) -> None:
        self._ttl = ttl_seconds
        self._seen: dict[tuple[str, str], tuple[float, dict[str, SplitWinner]]] = {}

    async def apply(self, connection: asyncpg.Connection, workspace_id: str, flow: Flow) -> Flow:
        if not any(isinstance(step, SplitStep) for step in flow.steps):
            return flow
        key = (workspace_id, flow.id)
        now = time.monotonic()
        cached = self._seen.get(key)
        if cached is None or now - cached[0] > self._ttl:
            cached = (now, await split_winners(connection, workspace_id, flow.id))
            self._seen[key] = cached
        return flow.model_copy(update={"winners": cached[1]}) if cached[1] else flow
