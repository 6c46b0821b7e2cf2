"""Who a message goes to: the contact's profile with their customer facts, and whether their address may be used."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.sender.domain.eligibility import Reader
from services.sender.domain.rendering.compliance import Consent
from shared.consent import store as consent
from shared.customer_facts_table import load_facts
from shared.identity import IdentifierKind, identifier_hash

ContactKey = tuple[str, str]  # (workspace, contact)
AddressKey = tuple[str, IdentifierKind, str]  # (workspace, kind, address)


class Audience:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def profile(self, workspace_id: str, contact_id: str) -> dict[str, Any] | None:
        """The profile with the customer facts (`facts`), or None when the contact is unknown or erased (its
        row is gone or marked)."""
        raw = await self._pool.fetchval(
            "SELECT profile FROM contacts WHERE workspace_id = $1 AND contact_id = $2", workspace_id, contact_id
        )
        if raw is None:
            return None
        profile: dict[str, Any] = json.loads(raw)
        if profile.get("erased") or profile.get("erased_at"):
            return None
        facts = await self._facts([(workspace_id, contact_id)])
        return {**profile, "facts": facts[(workspace_id, contact_id)]}

    async def _facts(self, contacts: list[ContactKey]) -> dict[ContactKey, dict[str, Any]]:
        """Each contact's customer facts as templates print them, as of now (engagement and the last 30 days'
        messages are as of the send)."""
        now = datetime.now(UTC)
        async with self._pool.acquire() as connection:
            found = await load_facts(connection, contacts, now)
        return {key: facts.value(now) for key, facts in found.items()}

    async def workspace_names(self, workspace_ids: list[str]) -> dict[str, str]:
        """Each workspace's own name (what a message's `workspace.name` prints); one named only by its id (as
        `dripline keys create` names a new workspace) has none, so its messages read as from its sender."""
        rows = await self._pool.fetch("SELECT id, name FROM workspaces WHERE id = ANY($1::text[])", workspace_ids)
        return {row["id"]: row["name"] for row in rows if row["name"] and row["name"] != row["id"]}

    async def readers(self, contacts: list[ContactKey]) -> dict[ContactKey, Reader]:
        """Profile, subscriptions and first marketing consent of many contacts in one round trip, and their
        customer facts as of now in the profile's `facts` (what templates print as `contact.facts.<name>`).

        Unknown and erased contacts are left out."""
        if not contacts:
            return {}
        rows = await consent.readers(self._pool, [w for w, _ in contacts], [c for _, c in contacts])
        facts = await self._facts([(row["workspace_id"], row["contact_id"]) for row in rows])
        found: dict[ContactKey, Reader] = {}
        for row in rows:
            key = (row["workspace_id"], row["contact_id"])
            profile: dict[str, Any] = json.loads(row["profile"])
            if profile.get("erased") or profile.get("erased_at"):
                continue
            if key in facts:
                profile["facts"] = facts[key]
            subscriptions = json.loads(row["subscriptions"]) if row["subscriptions"] else {}
            signed_up = None
            if row["signed_up_at"] is not None:
                signed_up = Consent(signed_up_on=row["signed_up_at"].date(), source=str(row["signed_up_via"]))
            promises = json.loads(row["promises"]) if row["promises"] else {}
            found[key] = Reader(profile, subscriptions, signed_up, promises)
        return found

    async def suppression_scopes(self, addresses: list[AddressKey]) -> dict[AddressKey, frozenset[str]]:
        """The suppression scopes (`all`, `marketing`) on each address that has any, in one round trip."""
        if not addresses:
            return {}
        by_hash = {(w, identifier_hash(w, kind, address)): (w, kind, address) for w, kind, address in addresses}
        rows = await consent.suppression_scopes_among(self._pool, [w for w, _ in by_hash], [h for _, h in by_hash])
        scopes: dict[AddressKey, set[str]] = {}
        for row in rows:
            scopes.setdefault(by_hash[(row["workspace_id"], row["address_hash"])], set()).add(row["scope"])
        return {key: frozenset(found) for key, found in scopes.items()}

    async def suppress(
        self, workspace_id: str, kind: IdentifierKind, address: str, *, reason: str, source: str
    ) -> None:
        await consent.suppress_everything(
            self._pool, workspace_id, identifier_hash(workspace_id, kind, address), reason, source
        )
