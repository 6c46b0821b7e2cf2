"""Consent in PostgreSQL: the append-only ledger, subscription states and workspace settings."""

from __future__ import annotations

import json
import time

import asyncpg

from services.ingest.domain.consent import ConsentOutcome, ledger_row
from shared.consent import store as consent


async def record_consent(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, event_id: str, outcome: ConsentOutcome
) -> bool:
    """Write the ledger and subscriptions; True when something is now waiting for confirmation."""
    for entry in outcome.entries:
        await consent.record_signup_consent(connection, ledger_row(workspace_id, contact_id, event_id, entry))
    pending = False
    for topic, status in outcome.subscriptions.items():
        changed = await consent.subscribe_at_signup(
            connection, workspace_id, contact_id, topic, status, outcome.expires_at
        )
        pending = pending or (changed is not None and status == "pending")
    return pending


class WorkspaceSettings:
    """Workspace settings (double opt-in and the like), cached briefly: they change rarely."""

    def __init__(self, pool: asyncpg.Pool, ttl_seconds: float = 30.0) -> None:
        self._pool = pool
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, dict[str, object]]] = {}

    async def get(self, workspace_id: str) -> dict[str, object]:
        hit = self._cache.get(workspace_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        raw = await self._pool.fetchval("SELECT settings FROM workspaces WHERE id = $1", workspace_id)
        settings: dict[str, object] = json.loads(raw) if raw else {}
        self._cache[workspace_id] = (time.monotonic() + self._ttl, settings)
        return settings
