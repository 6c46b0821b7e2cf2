"""Who a message goes to: the contact's profile, and whether their address may be used."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from services.sender.domain.compliance import Consent
from shared.identity import IdentifierKind, identifier_hash


class Audience:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def profile(self, workspace_id: str, contact_id: str) -> dict[str, Any] | None:
        """The profile, or None when the contact is unknown or erased (its row is gone or marked)."""
        raw = await self._pool.fetchval(
            "SELECT profile FROM contacts WHERE workspace_id = $1 AND contact_id = $2", workspace_id, contact_id
        )
        if raw is None:
            return None
        profile: dict[str, Any] = json.loads(raw)
        if profile.get("erased") or profile.get("erased_at"):
            return None
        return profile

    async def consent(self, workspace_id: str, contact_id: str) -> Consent | None:
        """The first grant of marketing consent: when and where the reader signed up (for the footer)."""
        row = await self._pool.fetchrow(
            "SELECT occurred_at, coalesce(origin, source) AS origin FROM consent_ledger "
            "WHERE workspace_id = $1 AND contact_id = $2 AND action = 'grant' AND scope = '*' ORDER BY id LIMIT 1",
            workspace_id,
            contact_id,
        )
        if row is None:
            return None
        return Consent(signed_up_on=row["occurred_at"].date(), source=str(row["origin"]))

    async def lacks_consent(self, workspace_id: str, contact_id: str, topic: str | None) -> str | None:
        """Why a marketing message may not go (no `subscribed` row for `*`, or for its topic), or None.

        The scheduler already judged this; checking again here covers requests from elsewhere and
        consent withdrawn while the request waited."""
        rows = await self._pool.fetch(
            "SELECT topic, status FROM contact_subscriptions WHERE workspace_id = $1 AND contact_id = $2 "
            "AND topic = ANY($3::text[])",
            workspace_id,
            contact_id,
            ["*", topic] if topic else ["*"],
        )
        found = {row["topic"]: row["status"] for row in rows}
        for scope in ("*", topic) if topic else ("*",):
            if found.get(scope) != "subscribed":
                what = "marketing" if scope == "*" else f"topic {scope}"
                return f"no consent to {what} ({found.get(scope, 'none')})"
        return None

    async def suppressed(self, workspace_id: str, kind: IdentifierKind, address: str, *, marketing: bool) -> bool:
        """Scope `all` blocks every message; scope `marketing` (an unsubscribe) only marketing ones."""
        scopes = ["all", "marketing"] if marketing else ["all"]
        found = await self._pool.fetchval(
            "SELECT 1 FROM suppressions WHERE workspace_id = $1 AND address_hash = $2 AND scope = ANY($3::text[])",
            workspace_id,
            identifier_hash(workspace_id, kind, address),
            scopes,
        )
        return found is not None

    async def suppress(
        self, workspace_id: str, kind: IdentifierKind, address: str, *, reason: str, source: str
    ) -> None:
        await self._pool.execute(
            "INSERT INTO suppressions (workspace_id, address_hash, scope, reason, source) "
            "VALUES ($1, $2, 'all', $3, $4) ON CONFLICT DO NOTHING",
            workspace_id,
            identifier_hash(workspace_id, kind, address),
            reason,
            source,
        )
