"""Who a message goes to: the contact's profile, and whether their address may be used."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from services.sender.domain.compliance import Consent
from services.sender.domain.eligibility import Reader
from shared.identity import IdentifierKind, identifier_hash

_READERS = """
SELECT k.workspace_id, k.contact_id, c.profile,
       (SELECT json_object_agg(s.topic, s.status) FROM contact_subscriptions s
         WHERE s.workspace_id = k.workspace_id AND s.contact_id = k.contact_id) AS subscriptions,
       g.occurred_at AS signed_up_at, g.origin AS signed_up_via
FROM unnest($1::text[], $2::text[]) AS k(workspace_id, contact_id)
JOIN contacts c ON c.workspace_id = k.workspace_id AND c.contact_id = k.contact_id
LEFT JOIN LATERAL (
    SELECT l.occurred_at, coalesce(l.origin, l.source) AS origin FROM consent_ledger l
    WHERE l.workspace_id = k.workspace_id AND l.contact_id = k.contact_id AND l.action = 'grant' AND l.scope = '*'
    ORDER BY l.id LIMIT 1
) g ON true
"""

_SUPPRESSIONS = """
SELECT s.workspace_id, s.address_hash, s.scope FROM suppressions s
JOIN unnest($1::text[], $2::bytea[]) AS k(workspace_id, address_hash)
  ON s.workspace_id = k.workspace_id AND s.address_hash = k.address_hash
"""

ContactKey = tuple[str, str]  # (workspace, contact)
AddressKey = tuple[str, IdentifierKind, str]  # (workspace, kind, address)


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

    async def readers(self, contacts: list[ContactKey]) -> dict[ContactKey, Reader]:
        """Profile, subscriptions and first marketing consent of many contacts in one round trip.

        Unknown and erased contacts are left out."""
        if not contacts:
            return {}
        rows = await self._pool.fetch(_READERS, [w for w, _ in contacts], [c for _, c in contacts])
        found: dict[ContactKey, Reader] = {}
        for row in rows:
            profile: dict[str, Any] = json.loads(row["profile"])
            if profile.get("erased") or profile.get("erased_at"):
                continue
            subscriptions = json.loads(row["subscriptions"]) if row["subscriptions"] else {}
            consent = None
            if row["signed_up_at"] is not None:
                consent = Consent(signed_up_on=row["signed_up_at"].date(), source=str(row["signed_up_via"]))
            found[(row["workspace_id"], row["contact_id"])] = Reader(profile, subscriptions, consent)
        return found

    async def suppression_scopes(self, addresses: list[AddressKey]) -> dict[AddressKey, frozenset[str]]:
        """The suppression scopes (`all`, `marketing`) on each address that has any, in one round trip."""
        if not addresses:
            return {}
        by_hash = {(w, identifier_hash(w, kind, address)): (w, kind, address) for w, kind, address in addresses}
        rows = await self._pool.fetch(_SUPPRESSIONS, [w for w, _ in by_hash], [h for _, h in by_hash])
        scopes: dict[AddressKey, set[str]] = {}
        for row in rows:
            scopes.setdefault(by_hash[(row["workspace_id"], row["address_hash"])], set()).add(row["scope"])
        return {key: frozenset(found) for key, found in scopes.items()}

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
