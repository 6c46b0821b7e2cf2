"""Changing subscriptions on a contact's behalf: state, ledger and — for marketing as a whole — the suppression."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from shared.consent import store as consent
from shared.identity import identifier_hash


@dataclass(frozen=True)
class SubscriptionChange:
    topic: str  # * = marketing as a whole
    subscribed: bool


async def change_subscriptions(
    connection: asyncpg.Connection,
    workspace_id: str,
    contact_id: str,
    changes: list[SubscriptionChange],
    *,
    source: str,
    policy_version: str | None = None,
) -> dict[str, str]:
    """Apply and record each change; leaving `*` also suppresses the address for marketing."""
    email = await connection.fetchval(
        "SELECT profile->>'email' FROM contacts WHERE workspace_id = $1 AND contact_id = $2", workspace_id, contact_id
    )
    result: dict[str, str] = {}
    for change in changes:
        status = "subscribed" if change.subscribed else "unsubscribed"
        await consent.set_subscription(connection, workspace_id, contact_id, change.topic, status)
        action = "grant" if change.subscribed else "withdraw"
        dedupe = f"{source}:{uuid.uuid4().hex}"
        await consent.record_api_change(
            connection, workspace_id, contact_id, action, change.topic, source, policy_version, dedupe
        )
        if change.topic == "*" and email:
            await _marketing_suppression(connection, workspace_id, email, suppress=not change.subscribed)
        result[change.topic] = status
    return result


async def _marketing_suppression(
    connection: asyncpg.Connection, workspace_id: str, email: str, *, suppress: bool
) -> None:
    address_hash = identifier_hash(workspace_id, "email", email)
    if suppress:
        await consent.suppress_marketing_by_api(connection, workspace_id, address_hash)
    else:
        await consent.lift_opt_out_by_api(connection, workspace_id, address_hash)
