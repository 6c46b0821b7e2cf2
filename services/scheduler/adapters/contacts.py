"""What the scheduler reads and keeps about contacts: profile, recent history, send ledger, suppressions.

The profile itself belongs to ingest (`contacts.profile`); flows only change it through
`update_contact` steps, under the same row lock ingest merges with.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from services.scheduler.adapters.facts import load_facts
from services.scheduler.adapters.records import contact_view
from services.scheduler.domain import ContactView, Event, SentMessage
from shared.consent import store as consent
from shared.identity import identifier_hash

# Strongest first: what a suppression row says about the address.
_SUPPRESSION_ORDER = ("erased", "bounced", "complained", "unsubscribed")

_HISTORY_INSERT = """
INSERT INTO contact_history (workspace_id, contact_id, event_id, type, occurred_at, message_id, machine, data)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
                     $7::bool[], $8::jsonb[])
ON CONFLICT DO NOTHING
"""
_HISTORY = """
SELECT event_id, type, occurred_at, message_id, machine, data FROM contact_history
WHERE workspace_id = $1 AND contact_id = $2 AND occurred_at >= $3
ORDER BY occurred_at DESC LIMIT $4
"""
_SIGNUPS = """
INSERT INTO flow_contacts (workspace_id, contact_id, signed_up_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
ON CONFLICT (workspace_id, contact_id) DO UPDATE
SET signed_up_at = LEAST(COALESCE(flow_contacts.signed_up_at, EXCLUDED.signed_up_at), EXCLUDED.signed_up_at),
    updated_at = now()
"""


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def record_history(connection: asyncpg.Connection, items: Sequence[tuple[str, str, Event]]) -> None:
    """Remember events per contact (workspace, contact, event) in one statement; repeats are ignored."""
    if not items:
        return
    columns: list[list[Any]] = [[] for _ in range(8)]
    for workspace_id, contact_id, event in items:
        row = (workspace_id, contact_id, event.id, event.type, event.at, event.message_id, event.machine)
        for column, value in zip(columns, (*row, _json(event.data)), strict=True):
            column.append(value)
    await connection.execute(_HISTORY_INSERT, *columns)


async def note_signups(connection: asyncpg.Connection, items: Sequence[tuple[str, str, datetime]]) -> None:
    """Keep each contact's first sign-up: grace delays and caps since sign-up count from it."""
    first: dict[tuple[str, str], datetime] = {}
    for workspace_id, contact_id, at in items:
        key = (workspace_id, contact_id)
        first[key] = min(at, first.get(key, at))
    if first:
        keys = list(first)
        await connection.execute(_SIGNUPS, [k[0] for k in keys], [k[1] for k in keys], list(first.values()))


async def _history(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, since: datetime, limit: int
) -> tuple[Event, ...]:
    rows = await connection.fetch(_HISTORY, workspace_id, contact_id, since, limit)
    events = [
        Event(
            id=row["event_id"],
            type=row["type"],
            at=row["occurred_at"],
            data=orjson.loads(row["data"]),
            message_id=row["message_id"],
            machine=row["machine"],
        )
        for row in reversed(rows)
    ]
    return tuple(events)


async def _suppression(connection: asyncpg.Connection, workspace_id: str, email: str | None) -> str | None:
    if not email:
        return None
    reasons = await consent.suppression_reasons(connection, workspace_id, identifier_hash(workspace_id, "email", email))
    found = {reason if reason in _SUPPRESSION_ORDER else "unsubscribed" for reason in reasons}
    return next((reason for reason in _SUPPRESSION_ORDER if reason in found), None)


async def _consent_and_segments(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> dict[str, Any]:
    """The contact's subscriptions by topic and their segments, in one round trip."""
    row = await consent.subscriptions_and_segments(connection, workspace_id, contact_id)
    subscriptions = orjson.loads(row["subscriptions"]) if row and row["subscriptions"] else {}
    return {"subscriptions": subscriptions, "segments": frozenset(row["segments"] or ()) if row else frozenset()}


async def profile_of(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> dict[str, Any]:
    raw = await connection.fetchval(
        "SELECT profile FROM contacts WHERE workspace_id = $1 AND contact_id = $2", workspace_id, contact_id
    )
    return dict(orjson.loads(raw)) if raw else {}


async def load_contact(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, now: datetime, *, days: int, limit: int
) -> ContactView:
    profile = await profile_of(connection, workspace_id, contact_id)
    signed_up_at = await connection.fetchval(
        "SELECT signed_up_at FROM flow_contacts WHERE workspace_id = $1 AND contact_id = $2", workspace_id, contact_id
    )
    history = await _history(connection, workspace_id, contact_id, now - timedelta(days=days), limit)
    suppression = await _suppression(connection, workspace_id, profile.get("email"))
    facts = await load_facts(connection, [(workspace_id, contact_id)], now)
    return contact_view(
        workspace_id, contact_id, profile, signed_up_at=signed_up_at, history=history, suppression=suppression,
        facts=facts.get((workspace_id, contact_id)),
        **await _consent_and_segments(connection, workspace_id, contact_id),
    )  # fmt: skip


async def load_ledger(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, since: datetime
) -> list[SentMessage]:
    rows = await connection.fetch(
        "SELECT sent_at, channel, category, flow_id FROM contact_sends "
        "WHERE workspace_id = $1 AND contact_id = $2 AND sent_at >= $3 ORDER BY sent_at",
        workspace_id,
        contact_id,
        since,
    )
    return [
        SentMessage(at=row["sent_at"], channel=row["channel"], category=row["category"], flow_id=row["flow_id"])
        for row in rows
    ]


SeenKey = tuple[str, str]  # (workspace, contact)


async def swap_seen_attributes(
    connection: asyncpg.Connection, items: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[dict[str, Any] | None]:
    """Store the attributes just seen, in order, and return for each item the ones seen before it
    (None the first time): two statements for a whole batch, however many contacts it holds."""
    if not items:
        return []
    keys = list(dict.fromkeys((workspace_id, contact_id) for workspace_id, contact_id, _ in items))
    rows = await connection.fetch(
        "SELECT k.w, k.c, f.seen_attributes FROM unnest($1::text[], $2::text[]) AS k(w, c) "
        "JOIN flow_contacts f ON f.workspace_id = k.w AND f.contact_id = k.c",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    seen: dict[SeenKey, dict[str, Any] | None] = {
        (row["w"], row["c"]): dict(orjson.loads(row["seen_attributes"])) if row["seen_attributes"] else None
        for row in rows
    }
    befores = []
    for workspace_id, contact_id, attributes in items:
        befores.append(seen.get((workspace_id, contact_id)))
        seen[(workspace_id, contact_id)] = attributes  # a later record of the same contact sees this one
    await connection.execute(
        "INSERT INTO flow_contacts (workspace_id, contact_id, seen_attributes) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) "
        "ON CONFLICT (workspace_id, contact_id) DO UPDATE SET seen_attributes = EXCLUDED.seen_attributes, "
        "updated_at = now()",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [_json(seen[k]) for k in keys],
    )
    return befores


async def update_profile(
    connection: asyncpg.Connection,
    workspace_id: str,
    contact_id: str,
    set_attributes: dict[str, Any],
    add_tags: Sequence[str],
    remove_tags: Sequence[str],
) -> dict[str, Any]:
    """Apply an `update_contact` step to the profile and return the whole profile after it."""
    await connection.execute(
        "INSERT INTO contacts (workspace_id, contact_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        workspace_id,
        contact_id,
    )
    raw = await connection.fetchval(
        "SELECT profile FROM contacts WHERE workspace_id = $1 AND contact_id = $2 FOR UPDATE", workspace_id, contact_id
    )
    profile = dict(orjson.loads(raw))
    profile["attributes"] = {**(profile.get("attributes") or {}), **set_attributes}
    tags = (set(profile.get("tags") or ()) | set(add_tags)) - set(remove_tags)
    profile["tags"] = sorted(tags)
    await connection.execute(
        "UPDATE contacts SET profile = $3::jsonb, updated_at = now() WHERE workspace_id = $1 AND contact_id = $2",
        workspace_id,
        contact_id,
        _json(profile),
    )
    return profile


async def forget_contact(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> None:
    """Erasure: drop what flows kept about the workspace's contact (the enrollments have ended by now)."""
    tables = ("contact_history", "contact_sends", "flow_contacts", "segment_members", "held_entries", "timers")
    for table in (*tables, "contact_facts", "contact_orders"):
        await connection.execute(
            f"DELETE FROM {table} WHERE workspace_id = $1 AND contact_id = $2", workspace_id, contact_id
        )


async def forget_old(connection: asyncpg.Connection | asyncpg.Pool, before: datetime, limit: int = 10_000) -> int:
    """Delete a slice of history and ledger rows older than `before`; returns how many went."""
    removed = 0
    for table, column in (("contact_history", "occurred_at"), ("contact_sends", "sent_at")):
        status = await connection.execute(
            f"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {column} < $1 LIMIT $2)",
            before,
            limit,
        )
        removed += int(str(status).split()[-1])
    return removed
