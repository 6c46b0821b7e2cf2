"""The consent store: the only code that runs SQL against the ledger, subscriptions and suppressions.

Ingest, the scheduler, the tracker, the sender and erasure all read and write these tables; with
one owner, what each service does to consent is reviewable in one place (`queries.py`) and a
change of schema touches one module. Each function runs one named statement, as the service ran
it before; the services keep their transactions and decide what the rows mean.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared.consent import queries
from shared.consent.evidence import consent_network

Columns = Sequence[list[Any]]  # one list per column, for statements that unnest arrays


# ---- consent ledger ----


# The ledger's `ip` column: every writer goes through `consent_network`, so only a network is ever kept.
_IP = 5


async def record_signup_consent(connection: asyncpg.Connection, row: Sequence[Any]) -> None:
    """One ledger entry of a sign-up, its columns as `RECORD_SIGNUP_CONSENT` lists them."""
    kept = [*row[:_IP], consent_network(row[_IP]), *row[_IP + 1 :]]
    await connection.execute(queries.RECORD_SIGNUP_CONSENT, *kept)


async def record_api_change(
    connection: asyncpg.Connection,
    workspace_id: str,
    contact_id: str,
    action: str,
    scope: str,
    source: str,
    policy_version: str | None,
    dedupe_key: str,
) -> None:
    await connection.execute(
        queries.RECORD_API_CHANGE, workspace_id, contact_id, action, scope, source, policy_version, dedupe_key
    )


async def record_marketing_choice(
    connection: asyncpg.Connection,
    workspace_id: str,
    contact_id: str,
    action: str,
    source: str,
    ip: str | None,
    user_agent: str | None,
    dedupe_key: str,
) -> None:
    await connection.execute(
        queries.RECORD_MARKETING_CHOICE,
        workspace_id,
        contact_id,
        action,
        source,
        consent_network(ip),
        user_agent,
        dedupe_key,
    )


async def record_topic_choice(
    connection: asyncpg.Connection,
    workspace_id: str,
    contact_id: str,
    action: str,
    topic: str,
    ip: str | None,
    user_agent: str | None,
    dedupe_key: str,
) -> None:
    await connection.execute(
        queries.RECORD_TOPIC_CHOICE,
        workspace_id,
        contact_id,
        action,
        topic,
        consent_network(ip),
        user_agent,
        dedupe_key,
    )


async def withdraw_by_flow(
    connection: asyncpg.Connection,
    workspace_id: str,
    contact_id: str,
    scope: str,
    reason: str,
    occurred_at: datetime,
    dedupe_key: str,
) -> None:
    """A flow unsubscribes the contact from `scope` (`*`: all marketing): the ledger entry, then the row
    that stops mail."""
    await connection.execute(
        queries.RECORD_FLOW_WITHDRAWAL, workspace_id, contact_id, scope, reason, occurred_at, dedupe_key
    )
    await connection.execute(queries.SET_SUBSCRIPTION, workspace_id, contact_id, scope, "unsubscribed")


async def record_confirmations(
    connection: asyncpg.Connection,
    workspace_id: str,
    contact_id: str,
    ip: str | None,
    user_agent: str | None,
    message_id: str,
    topics: list[str],
) -> None:
    await connection.execute(
        queries.RECORD_CONFIRMATIONS, workspace_id, contact_id, consent_network(ip), user_agent, message_id, topics
    )


async def record_expiries(
    connection: asyncpg.Connection,
    workspaces: list[str],
    contacts: list[str],
    topics: list[str],
    now: datetime,
    expiry_marks: list[str],
) -> None:
    """An `expire` entry per (workspace, contact, topic); the mark tells one expiry from a later one."""
    await connection.execute(queries.RECORD_EXPIRIES, workspaces, contacts, topics, now, expiry_marks)


async def consent_history(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(queries.CONSENT_HISTORY, workspace_id, contact_id)
    return rows


async def blank_ledger_proof(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> str:
    """Erasure's one change to the ledger; returns the command status (`UPDATE n`)."""
    status: str = await connection.execute(queries.BLANK_LEDGER_PROOF, workspace_id, contact_id)
    return status


async def blank_old_evidence(connection: asyncpg.Connection, before: datetime, limit: int) -> int:
    """Retention: blank the IP and user agent of at most `limit` entries recorded before `before`; how many.
    Run in a transaction (the trigger's permission is transaction-local)."""
    await connection.execute("SET LOCAL dripline.erasure = 'on'")
    status = await connection.execute(queries.BLANK_OLD_EVIDENCE, before, limit)
    return int(str(status).rsplit(" ", 1)[-1])


# ---- contact subscriptions ----


async def subscribe_at_signup(
    connection: asyncpg.Connection,
    workspace_id: str,
    contact_id: str,
    topic: str,
    status: str,
    expires_at: datetime | None,
) -> str | None:
    """The topic when its row changed; None when it was subscribed already."""
    changed: str | None = await connection.fetchval(
        queries.SUBSCRIBE_AT_SIGNUP, workspace_id, contact_id, topic, status, expires_at
    )
    return changed


async def set_subscription(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, topic: str, status: str
) -> None:
    await connection.execute(queries.SET_SUBSCRIPTION, workspace_id, contact_id, topic, status)


async def set_marketing_subscription(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, status: str
) -> None:
    await connection.execute(queries.SET_MARKETING_SUBSCRIPTION, workspace_id, contact_id, status)


async def choose_topic(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, topic: str, status: str
) -> str | None:
    """The topic when its status changed, else None."""
    changed: str | None = await connection.fetchval(queries.CHOOSE_TOPIC, workspace_id, contact_id, topic, status)
    return changed


async def confirm_pending(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> list[str]:
    """The topics confirmed now."""
    return [row["topic"] for row in await connection.fetch(queries.CONFIRM_PENDING, workspace_id, contact_id)]


async def expire_unconfirmed(connection: asyncpg.Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Rows (workspace_id, contact_id, topic, expires_at) of the pending sign-ups expired now."""
    rows: list[asyncpg.Record] = await connection.fetch(queries.EXPIRE_UNCONFIRMED, now, limit)
    return rows


async def marketing_status(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> str | None:
    status: str | None = await connection.fetchval(queries.MARKETING_STATUS, workspace_id, contact_id)
    return status


async def subscriptions(
    executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, contact_id: str
) -> dict[str, str]:
    """Status by topic."""
    rows = await executor.fetch(queries.SUBSCRIPTIONS, workspace_id, contact_id)
    return {row["topic"]: row["status"] for row in rows}


async def subscriptions_in_detail(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(queries.SUBSCRIPTIONS_IN_DETAIL, workspace_id, contact_id)
    return rows


async def channel_counts(executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str) -> dict[str, dict[str, int]]:
    """Contacts of the workspace by channel, then status (`subscribed`, `pending`, …)."""
    counts: dict[str, dict[str, int]] = {}
    for row in await executor.fetch(queries.CHANNEL_COUNTS, workspace_id):
        counts.setdefault(row["channel"], {})[row["status"]] = row["contacts"]
    return counts


# ---- suppressions ----


async def suppress_first(
    executor: asyncpg.Connection | asyncpg.Pool,
    workspace_id: str,
    address_hash: bytes,
    scope: str,
    reason: str,
    source: str,
) -> datetime:
    """When the address was first suppressed in this scope (now, unless it already was)."""
    created: datetime = await executor.fetchval(
        queries.SUPPRESS_FIRST, workspace_id, address_hash, scope, reason, source
    )
    return created


async def suppress_marketing_by_api(connection: asyncpg.Connection, workspace_id: str, address_hash: bytes) -> None:
    await connection.execute(queries.SUPPRESS_MARKETING_BY_API, workspace_id, address_hash)


async def suppress_everything(
    executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, address_hash: bytes, reason: str, source: str
) -> None:
    await executor.execute(queries.SUPPRESS_EVERYTHING, workspace_id, address_hash, reason, source)


async def suppress_erased(connection: asyncpg.Connection, workspace_id: str, address_hash: bytes, reason: str) -> None:
    await connection.execute(queries.SUPPRESS_ERASED, workspace_id, address_hash, reason)


async def lift_own_opt_out(connection: asyncpg.Connection, workspace_id: str, address_hash: bytes) -> datetime | None:
    """When the lifted opt-out was made, or None when there was none."""
    removed: datetime | None = await connection.fetchval(queries.LIFT_OWN_OPT_OUT, workspace_id, address_hash)
    return removed


async def lift_opt_out_by_api(connection: asyncpg.Connection, workspace_id: str, address_hash: bytes) -> None:
    await connection.execute(queries.LIFT_OPT_OUT_BY_API, workspace_id, address_hash)


async def suppression_scopes(
    executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, address_hash: bytes
) -> set[str]:
    rows = await executor.fetch(queries.SUPPRESSION_SCOPES, workspace_id, address_hash)
    return {row["scope"] for row in rows}


async def suppression_reasons(connection: asyncpg.Connection, workspace_id: str, address_hash: bytes) -> list[str]:
    rows = await connection.fetch(queries.SUPPRESSION_REASONS, workspace_id, address_hash)
    return [row["reason"] for row in rows]


async def suppression_reasons_among(
    connection: asyncpg.Connection, workspaces: list[str], address_hashes: list[bytes]
) -> list[asyncpg.Record]:
    """Rows (workspace_id, address_hash, reason) for any of these workspaces and hashes."""
    rows: list[asyncpg.Record] = await connection.fetch(queries.SUPPRESSION_REASONS_AMONG, workspaces, address_hashes)
    return rows


async def suppression_scopes_among(
    executor: asyncpg.Connection | asyncpg.Pool, workspaces: list[str], address_hashes: list[bytes]
) -> list[asyncpg.Record]:
    """Rows (workspace_id, address_hash, scope) for these (workspace, hash) pairs, zipped."""
    rows: list[asyncpg.Record] = await executor.fetch(queries.SUPPRESSION_SCOPES_AMONG, workspaces, address_hashes)
    return rows


async def suppressed_among(
    executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, address_hashes: list[bytes]
) -> set[bytes]:
    """Which of these hashed addresses must never be mailed (erased or hard-bounced): one query for a whole list."""
    if not address_hashes:
        return set()
    rows = await executor.fetch(queries.SUPPRESSED_EVERYWHERE_AMONG, workspace_id, address_hashes)
    return {bytes(row["address_hash"]) for row in rows}


async def suppressions_of(
    executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, hashes: list[bytes]
) -> list[asyncpg.Record]:
    """Rows (scope, reason, source, created_at) of these hashed identifiers, oldest first."""
    rows: list[asyncpg.Record] = await executor.fetch(queries.SUPPRESSIONS_OF, workspace_id, hashes)
    return rows


async def erased_among(
    executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, hashes: list[bytes]
) -> set[bytes]:
    """Which of these hashed identifiers (of any kind) belong to an erased person."""
    if not hashes:
        return set()
    rows = await executor.fetch(queries.ERASED_AMONG, workspace_id, hashes)
    return {bytes(row["address_hash"]) for row in rows}


def suppression_hashes(connection: asyncpg.Connection, prefetch: int) -> Any:
    """A cursor over rows (workspace_id, part, old): every suppression's hash, for re-keying."""
    return connection.cursor(queries.SUPPRESSION_HASHES, prefetch=prefetch)


async def rekey_suppressions(connection: asyncpg.Connection, columns: Columns) -> None:
    """Columns (workspace, scope, old hash, new hash): each row's hash replaced."""
    await connection.execute(queries.REKEY_SUPPRESSIONS, *columns)


# ---- statements that span other tables as well ----


async def write_contact_group(
    connection: asyncpg.Connection,
    claims: Columns,
    profiles: Columns,
    ledger: Columns,
    subscribed: Columns,
    must_claim: list[bytes],
) -> list[asyncpg.Record]:
    """`WRITE_CONTACT_GROUP`: claims (workspace, kind, hash, contact), profiles (workspace, contact, JSON),
    ledger (as `RECORD_SIGNUP_CONSENT`), subscribed (workspace, contact, topic, status, expires_at).
    Rows (ok, workspace_id, contact_id, topic) name the subscriptions that changed."""
    if ledger and ledger[_IP]:
        ledger = [*ledger[:_IP], [consent_network(ip) for ip in ledger[_IP]], *ledger[_IP + 1 :]]
    rows: list[asyncpg.Record] = await connection.fetch(
        queries.WRITE_CONTACT_GROUP, *claims, *profiles, *ledger, *subscribed, must_claim
    )
    return rows


async def subscriptions_and_segments(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await connection.fetchrow(queries.SUBSCRIPTIONS_AND_SEGMENTS, workspace_id, contact_id)
    return row


async def contact_views(
    connection: asyncpg.Connection, workspaces: list[str], contacts: list[str]
) -> list[asyncpg.Record]:
    """Rows (w, c, profile, signed_up_at, subscriptions, segments) per (workspace, contact) pair."""
    rows: list[asyncpg.Record] = await connection.fetch(queries.CONTACT_VIEWS, workspaces, contacts)
    return rows


async def readers(
    executor: asyncpg.Connection | asyncpg.Pool, workspaces: list[str], contacts: list[str]
) -> list[asyncpg.Record]:
    """Rows (workspace_id, contact_id, profile, subscriptions, signed_up_at, signed_up_via) of known contacts."""
    rows: list[asyncpg.Record] = await executor.fetch(queries.READERS, workspaces, contacts)
    return rows


# ---- readers outside the services' own paths ----


def topic_subscribers_subquery(workspace_parameter: int, topic_parameter: int) -> str:
    """The subscribers of a topic as a subquery for the caller's statement, whose parameters at the given
    positions hold the workspace and the topic: the text stays here, where the table's owner reads it."""
    numbers = {"1": workspace_parameter, "2": topic_parameter}
    return re.sub(r"\$([12])\b", lambda match: f"${numbers[match.group(1)]}", queries.TOPIC_SUBSCRIBERS)


async def daily_feedback(
    executor: asyncpg.Connection | asyncpg.Pool,
    start: datetime,
    end: datetime,
    workspace_id: str | None,
    reader_sources: Sequence[str],
) -> list[asyncpg.Record]:
    """Rows (workspace_id, domain, sent, bounced, complained, unsubscribed) of mail and feedback in [start, end)."""
    rows: list[asyncpg.Record] = await executor.fetch(
        queries.DAILY_FEEDBACK, start, end, workspace_id, list(reader_sources)
    )
    return rows
