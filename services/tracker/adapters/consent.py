"""The tables behind unsubscribes, preferences and bounces.

Suppressions are keyed by a hash of the address, so they outlive the contact (erasure);
they are what stops mail. An unsubscribe or re-subscribe also goes into the consent
ledger (the auditor's proof, with IP and user agent) and the contact's `*` subscription,
all in one transaction with the suppression.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from shared.identity import identifier_hash

__all__ = ["ConsentStore", "Proof", "SubscriptionTopic", "Suppressed"]

Confirmation = Literal["confirmed", "already", "expired"]

Scope = Literal["marketing", "all"]

_EMAIL_OF = "SELECT profile->>'email' FROM contacts WHERE workspace_id = $1 AND contact_id = $2"
_CONTACT_OF = "SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND kind = 'email' AND value_hash = $2"
# A repeat keeps the first row (and its time), which is what makes unsubscribing idempotent.
_SUPPRESS = """
WITH added AS (
    INSERT INTO suppressions (workspace_id, address_hash, scope, reason, source)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING created_at
)
SELECT created_at FROM added
UNION ALL
SELECT created_at FROM suppressions WHERE workspace_id = $1 AND address_hash = $2 AND scope = $3
LIMIT 1
"""
# Only the person's own opt-out is theirs to undo; bounces and complaints are scope `all`.
_RESUBSCRIBE = """
DELETE FROM suppressions
WHERE workspace_id = $1 AND address_hash = $2 AND scope = 'marketing' AND reason = 'unsubscribed'
RETURNING created_at
"""
_LEDGER = """
INSERT INTO consent_ledger
  (workspace_id, contact_id, action, scope, source, ip, user_agent, occurred_at, dedupe_key)
VALUES ($1, $2, $3, '*', $4, $5, $6, now(), $7)
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""
_SUBSCRIPTION = """
INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) VALUES ($1, $2, '*', $3)
ON CONFLICT (workspace_id, contact_id, topic)
DO UPDATE SET status = EXCLUDED.status, expires_at = NULL, updated_at = now()
"""
_SUPPRESSED = "SELECT scope, reason FROM suppressions WHERE workspace_id = $1 AND address_hash = $2"
_SUBSCRIPTIONS = "SELECT topic, status FROM contact_subscriptions WHERE workspace_id = $1 AND contact_id = $2"
# Only sign-ups still inside their confirmation window; the scheduler expires the others.
_CONFIRM = """
UPDATE contact_subscriptions SET status = 'subscribed', expires_at = NULL, updated_at = now()
WHERE workspace_id = $1 AND contact_id = $2 AND status = 'pending' AND (expires_at IS NULL OR expires_at > now())
RETURNING topic
"""
_CONFIRM_LEDGER = """
INSERT INTO consent_ledger
  (workspace_id, contact_id, action, scope, source, ip, user_agent, occurred_at, dedupe_key)
SELECT $1, $2, 'confirm', topic, 'double_opt_in', $3, $4, now(), 'confirm:' || $5 || ':' || topic
FROM unnest($6::text[]) AS topic
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""
_TOPIC = """
INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) VALUES ($1, $2, $3, $4)
ON CONFLICT (workspace_id, contact_id, topic)
DO UPDATE SET status = EXCLUDED.status, expires_at = NULL, updated_at = now()
WHERE contact_subscriptions.status IS DISTINCT FROM EXCLUDED.status
RETURNING topic
"""
_TOPIC_LEDGER = """
INSERT INTO consent_ledger
  (workspace_id, contact_id, action, scope, source, ip, user_agent, occurred_at, dedupe_key)
VALUES ($1, $2, $3, $4, 'preferences', $5, $6, now(), $7)
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""
_TOPICS = "SELECT topic, name, description FROM subscription_topics WHERE workspace_id = $1 ORDER BY name"


@dataclass(frozen=True, slots=True)
class Proof:
    """Who asked, as the ledger keeps it: the request's address and user agent."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class Suppressed:
    marketing: bool
    everything: bool


@dataclass(frozen=True, slots=True)
class SubscriptionTopic:
    topic: str
    name: str
    description: str | None = None


class ConsentStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._topics_table: bool | None = None

    async def email_of(self, workspace_id: str, contact_id: str) -> str | None:
        email: str | None = await self._pool.fetchval(_EMAIL_OF, workspace_id, contact_id)
        return email

    async def contact_with_email(self, workspace_id: str, email: str) -> str | None:
        contact_id: str | None = await self._pool.fetchval(
            _CONTACT_OF, workspace_id, identifier_hash(workspace_id, "email", email)
        )
        return contact_id

    async def suppress(self, workspace_id: str, email: str, *, scope: Scope, reason: str, source: str) -> datetime:
        """When the address was first suppressed in this scope (now, unless it already was)."""
        created: datetime = await self._pool.fetchval(
            _SUPPRESS, workspace_id, identifier_hash(workspace_id, "email", email), scope, reason, source
        )
        return created

    async def withdraw(
        self, workspace_id: str, contact_id: str, email: str | None, *, source: str, proof: Proof, request_id: str
    ) -> str:
        """Unsubscribe from all marketing; returns a marker that stays the same for repeats of one opt-out."""
        async with self._pool.acquire() as connection, connection.transaction():
            marker = ""
            if email is not None:
                created = await connection.fetchval(
                    _SUPPRESS,
                    workspace_id,
                    identifier_hash(workspace_id, "email", email),
                    "marketing",
                    "unsubscribed",
                    source,
                )
                marker = created.isoformat()
            await self._record(
                connection, workspace_id, contact_id, "withdraw", source, proof, f"{request_id}:{marker}"
            )
            await connection.execute(_SUBSCRIPTION, workspace_id, contact_id, "unsubscribed")
        return marker

    async def regrant(
        self, workspace_id: str, contact_id: str, email: str, *, proof: Proof, request_id: str
    ) -> datetime | None:
        """Lift the person's own opt-out; when it was made, or None when there was none to lift."""
        async with self._pool.acquire() as connection, connection.transaction():
            removed: datetime | None = await connection.fetchval(
                _RESUBSCRIBE, workspace_id, identifier_hash(workspace_id, "email", email)
            )
            if removed is None:
                return None
            dedupe = f"{request_id}:{removed.isoformat()}"
            await self._record(connection, workspace_id, contact_id, "grant", "preferences", proof, dedupe)
            await connection.execute(_SUBSCRIPTION, workspace_id, contact_id, "subscribed")
        return removed

    @staticmethod
    async def _record(
        connection: asyncpg.Connection,
        workspace_id: str,
        contact_id: str,
        action: str,
        source: str,
        proof: Proof,
        dedupe: str,
    ) -> None:
        # The ledger spells sources with underscores (`one_click`), suppressions with hyphens.
        ledger_source = source.replace("-", "_")
        await connection.execute(
            _LEDGER, workspace_id, contact_id, action, ledger_source, proof.ip, proof.user_agent, f"{action}:{dedupe}"
        )

    async def confirm(
        self, workspace_id: str, contact_id: str, email: str | None, *, proof: Proof, message_id: str
    ) -> Confirmation:
        """Double opt-in: pending subscriptions become subscribed, with a `confirm` ledger entry each
        (time, IP, user agent). Confirming is a fresh grant, so it lifts the person's own earlier opt-out."""
        async with self._pool.acquire() as connection, connection.transaction():
            topics = [row["topic"] for row in await connection.fetch(_CONFIRM, workspace_id, contact_id)]
            if not topics:
                status = await connection.fetchval(
                    "SELECT status FROM contact_subscriptions WHERE workspace_id = $1 AND contact_id = $2 "
                    "AND topic = '*'",
                    workspace_id,
                    contact_id,
                )
                return "already" if status == "subscribed" else "expired"
            await connection.execute(
                _CONFIRM_LEDGER, workspace_id, contact_id, proof.ip, proof.user_agent, message_id, topics
            )
            if email is not None:
                await connection.execute(_RESUBSCRIBE, workspace_id, identifier_hash(workspace_id, "email", email))
        return "confirmed"

    async def subscriptions(self, workspace_id: str, contact_id: str) -> dict[str, str]:
        rows = await self._pool.fetch(_SUBSCRIPTIONS, workspace_id, contact_id)
        return {row["topic"]: row["status"] for row in rows}

    async def choose_topics(
        self, workspace_id: str, contact_id: str, wanted: dict[str, bool], *, proof: Proof, request_id: str
    ) -> list[str]:
        """Subscribe to or leave each topic, with a ledger entry (source `preferences`) per topic that
        changed; returns the topics that changed."""
        changed: list[str] = []
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(_SUBSCRIPTIONS, workspace_id, contact_id)
            current = {row["topic"]: row["status"] for row in rows}
            for topic, subscribed in sorted(wanted.items()):
                if not subscribed and current.get(topic) not in ("subscribed", "pending"):
                    continue  # never chosen: nothing to withdraw
                status = "subscribed" if subscribed else "unsubscribed"
                if await connection.fetchval(_TOPIC, workspace_id, contact_id, topic, status) is None:
                    continue
                action = "grant" if subscribed else "withdraw"
                await connection.execute(
                    _TOPIC_LEDGER, workspace_id, contact_id, action, topic, proof.ip, proof.user_agent,
                    f"{action}:{request_id}:{topic}",
                )  # fmt: skip
                changed.append(topic)
        return changed

    async def suppressed(self, workspace_id: str, email: str) -> Suppressed:
        rows = await self._pool.fetch(_SUPPRESSED, workspace_id, identifier_hash(workspace_id, "email", email))
        scopes = {row["scope"] for row in rows}
        return Suppressed(marketing=bool(scopes), everything="all" in scopes)

    async def topics(self, workspace_id: str) -> list[SubscriptionTopic]:
        """Per-workspace subscription topics, once a `subscription_topics` table exists; else none."""
        if self._topics_table is None:
            found = await self._pool.fetchval("SELECT to_regclass('subscription_topics') IS NOT NULL")
            self._topics_table = bool(found)
        if not self._topics_table:
            return []
        rows = await self._pool.fetch(_TOPICS, workspace_id)
        return [SubscriptionTopic(row["topic"], row["name"], row["description"]) for row in rows]
