"""Who a message goes to: the contact's profile, and whether their address may be used."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.sender.domain.compliance import Consent
from shared.identity import IdentifierKind, identifier_hash

_READER = """
SELECT c.profile,
       (SELECT json_object_agg(s.topic, s.status) FROM contact_subscriptions s
         WHERE s.workspace_id = $1 AND s.contact_id = $2) AS subscriptions,
       g.occurred_at AS signed_up_at, g.origin AS signed_up_via
FROM contacts c
LEFT JOIN LATERAL (
    SELECT l.occurred_at, coalesce(l.origin, l.source) AS origin FROM consent_ledger l
    WHERE l.workspace_id = $1 AND l.contact_id = $2 AND l.action = 'grant' AND l.scope = '*'
    ORDER BY l.id LIMIT 1
) g ON true
WHERE c.workspace_id = $1 AND c.contact_id = $2
"""


@dataclass(frozen=True)
class Reader:
    """Who a message is for, as the sender needs it."""

    profile: dict[str, Any]
    subscriptions: dict[str, str]  # topic (or * for marketing as a whole) → status
    consent: Consent | None  # the first marketing grant: when and where, for the footer

    def lacks_consent(self, topic: str | None) -> str | None:
        """Why a marketing message may not go (no `subscribed` row for `*`, or for its topic), or None.

        The scheduler already judged this; checking again here covers requests from elsewhere and
        consent withdrawn while the request waited."""
        for scope in ("*", topic) if topic else ("*",):
            if self.subscriptions.get(scope) != "subscribed":
                what = "marketing" if scope == "*" else f"topic {scope}"
                return f"no consent to {what} ({self.subscriptions.get(scope, 'none')})"
        return None


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

    async def reader(self, workspace_id: str, contact_id: str) -> Reader | None:
        """Profile, subscriptions and first marketing consent in one round trip (this runs per message)."""
        row = await self._pool.fetchrow(_READER, workspace_id, contact_id)
        if row is None:
            return None
        profile: dict[str, Any] = json.loads(row["profile"])
        if profile.get("erased") or profile.get("erased_at"):
            return None
        subscriptions = json.loads(row["subscriptions"]) if row["subscriptions"] else {}
        consent = None
        if row["signed_up_at"] is not None:
            consent = Consent(signed_up_on=row["signed_up_at"].date(), source=str(row["signed_up_via"]))
        return Reader(profile, subscriptions, consent)

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
