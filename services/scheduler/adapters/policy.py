"""Each workspace's sending policy, kept in `workspaces.settings` under `flow_policy`.

Without one, a workspace gets DEFAULT_POLICY: marketing waits ten minutes after a sign-up (room
to undo a mistaken form) and at most three marketing emails go to a contact per day. No quiet
hours by default: a shop's audience may span every time zone.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import orjson

from services.scheduler.domain import FrequencyCap, WorkspacePolicy

DEFAULT_POLICY = WorkspacePolicy(
    grace_after_signup=timedelta(minutes=10),
    caps=(FrequencyCap(channel="email", max_messages=3, window=timedelta(days=1)),),
)


async def load_policy(connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str) -> WorkspacePolicy:
    raw = await connection.fetchval("SELECT settings -> 'flow_policy' FROM workspaces WHERE id = $1", workspace_id)
    if raw is None:
        return DEFAULT_POLICY
    return WorkspacePolicy.model_validate(orjson.loads(raw))


async def save_policy(
    connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str, policy: WorkspacePolicy
) -> None:
    await connection.execute(
        "UPDATE workspaces SET settings = jsonb_set(settings, '{flow_policy}', $2::jsonb) WHERE id = $1",
        workspace_id,
        policy.model_dump_json(),
    )
