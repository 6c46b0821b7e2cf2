"""The tables behind unsubscribes, preferences and bounces.

Suppressions are keyed by a hash of the address, so they outlive the contact (erasure);
they are what stops mail. An unsubscribe or re-subscribe also goes into the consent
ledger (the auditor's proof, with IP and user agent) and the contact's `*` subscription,
all in one transaction with the suppression.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from shared.consent import store as consent
from shared.consent.channels import channel_status, scope_channel
from shared.identity import identifier_hash

__all__ = ["ConsentStore", "Proof", "SubscriptionTopic", "Suppressed"]

Confirmation = Literal["confirmed", "already", "expired"]

Scope = Literal["marketing", "all"]

_EMAIL_OF = "SELECT profile->>'email' FROM contacts WHERE workspace_id = $1 AND contact_id = $2"
_ON_RECORD = "SELECT EXISTS (SELECT 1 FROM contacts WHERE workspace_id = $1 AND contact_id = $2)"
_CONTACT_OF = "SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND kind = 'email' AND value_hash = $2"
_TOPICS = (
    "SELECT topic, name, description, promise -> 'text' AS promise FROM subscription_topics "
    "WHERE workspace_id = $1 ORDER BY name"
)
_LOCALE_OF = "SELECT profile->>'locale' FROM contacts WHERE workspace_id = $1 AND contact_id = $2"


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
    promise: dict[str, str] | None = None  # how often, by language


class ConsentStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._topics_table: bool | None = None

    async def email_of(self, workspace_id: str, contact_id: str) -> str | None:
        email: str | None = await self._pool.fetchval(_EMAIL_OF, workspace_id, contact_id)
        return email

    async def locale_of(self, workspace_id: str, contact_id: str) -> str | None:
        locale: str | None = await self._pool.fetchval(_LOCALE_OF, workspace_id, contact_id)
        return locale

    async def on_record(self, workspace_id: str, contact_id: str) -> bool:
        """False for a contact erased since the link was sent (or never stored)."""
        return bool(await self._pool.fetchval(_ON_RECORD, workspace_id, contact_id))

    async def contact_with_email(self, workspace_id: str, email: str) -> str | None:
        contact_id: str | None = await self._pool.fetchval(
            _CONTACT_OF, workspace_id, identifier_hash(workspace_id, "email", email)
        )
        return contact_id

    async def suppress(self, workspace_id: str, email: str, *, scope: Scope, reason: str, source: str) -> datetime:
        """When the address was first suppressed in this scope (now, unless it already was)."""
        address_hash = identifier_hash(workspace_id, "email", email)
        return await consent.suppress_first(self._pool, workspace_id, address_hash, scope, reason, source)

    async def withdraw(
        self,
        workspace_id: str,
        contact_id: str,
        email: str | None,
        *,
        source: str,
        proof: Proof,
        request_id: str,
        reason: str = "unsubscribed",
    ) -> str:
        """Unsubscribe from all marketing; returns a marker that stays the same for repeats of one opt-out.

        ``reason`` `complained` (a spam complaint) is a suppression the person cannot lift on the preferences
        page: only their own `unsubscribed` is theirs to undo."""
        async with self._pool.acquire() as connection, connection.transaction():
            marker = ""
            if email is not None:
                created = await consent.suppress_first(
                    connection,
                    workspace_id,
                    identifier_hash(workspace_id, "email", email),
                    "marketing",
                    reason,
                    source,
                )
                marker = created.isoformat()
            await self._record(
                connection, workspace_id, contact_id, "withdraw", source, proof, f"{request_id}:{marker}"
            )
            await consent.set_marketing_subscription(connection, workspace_id, contact_id, "unsubscribed")
        return marker

    async def regrant(
        self, workspace_id: str, contact_id: str, email: str, *, proof: Proof, request_id: str
    ) -> datetime | None:
        """Lift the person's own opt-out; when it was made, or None when there was none to lift."""
        async with self._pool.acquire() as connection, connection.transaction():
            removed = await consent.lift_own_opt_out(
                connection, workspace_id, identifier_hash(workspace_id, "email", email)
            )
            if removed is None:
                return None
            dedupe = f"{request_id}:{removed.isoformat()}"
            await self._record(connection, workspace_id, contact_id, "grant", "preferences", proof, dedupe)
            await consent.set_marketing_subscription(connection, workspace_id, contact_id, "subscribed")
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
        await consent.record_marketing_choice(
            connection,
            workspace_id,
            contact_id,
            action,
            ledger_source,
            proof.ip,
            proof.user_agent,
            f"{action}:{dedupe}",
        )

    async def confirm(
        self, workspace_id: str, contact_id: str, email: str | None, *, proof: Proof, message_id: str
    ) -> Confirmation:
        """Double opt-in: pending subscriptions become subscribed, with a `confirm` ledger entry each
        (time, IP, user agent). Confirming is a fresh grant, so it lifts the person's own earlier opt-out."""
        async with self._pool.acquire() as connection, connection.transaction():
            topics = await consent.confirm_pending(connection, workspace_id, contact_id)
            if not topics:
                status = await consent.marketing_status(connection, workspace_id, contact_id)
                return "already" if status == "subscribed" else "expired"
            await consent.record_confirmations(
                connection, workspace_id, contact_id, proof.ip, proof.user_agent, message_id, topics
            )
            if email is not None:
                await consent.lift_own_opt_out(connection, workspace_id, identifier_hash(workspace_id, "email", email))
        return "confirmed"

    async def subscriptions(self, workspace_id: str, contact_id: str) -> dict[str, str]:
        return await consent.subscriptions(self._pool, workspace_id, contact_id)

    async def choose_topics(
        self, workspace_id: str, contact_id: str, wanted: dict[str, bool], *, proof: Proof, request_id: str
    ) -> list[str]:
        """Subscribe to or leave each topic (or channel: `channel:sms`), with a ledger entry (source
        `preferences`) per one that changed; returns those that changed."""
        changed: list[str] = []
        async with self._pool.acquire() as connection, connection.transaction():
            current = await consent.subscriptions(connection, workspace_id, contact_id)
            for topic, subscribed in sorted(wanted.items()):
                channel = scope_channel(topic)  # email's grant may still be the plain `*` one
                now = channel_status(current, channel) if channel else current.get(topic)
                if not subscribed and now not in ("subscribed", "pending"):
                    continue  # never chosen: nothing to withdraw
                status = "subscribed" if subscribed else "unsubscribed"
                if await consent.choose_topic(connection, workspace_id, contact_id, topic, status) is None:
                    continue
                action = "grant" if subscribed else "withdraw"
                await consent.record_topic_choice(
                    connection, workspace_id, contact_id, action, topic, proof.ip, proof.user_agent,
                    f"{action}:{request_id}:{topic}",
                )  # fmt: skip
                changed.append(topic)
        return changed

    async def suppressed(self, workspace_id: str, email: str) -> Suppressed:
        scopes = await consent.suppression_scopes(
            self._pool, workspace_id, identifier_hash(workspace_id, "email", email)
        )
        return Suppressed(marketing=bool(scopes), everything="all" in scopes)

    async def topics(self, workspace_id: str) -> list[SubscriptionTopic]:
        """Per-workspace subscription topics, once a `subscription_topics` table exists; else none."""
        if self._topics_table is None:
            found = await self._pool.fetchval("SELECT to_regclass('subscription_topics') IS NOT NULL")
            self._topics_table = bool(found)
        if not self._topics_table:
            return []
        rows = await self._pool.fetch(_TOPICS, workspace_id)
        return [
            SubscriptionTopic(
                row["topic"], row["name"], row["description"], json.loads(row["promise"]) if row["promise"] else None
            )
            for row in rows
        ]
