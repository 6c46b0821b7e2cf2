"""Writes of the analytics fold. Every statement is batched; all run in the consumer's one transaction."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg
import orjson

from services.scheduler.analytics.domain.attribution import AnalyticsSettings, Credit, Touch
from services.scheduler.analytics.domain.facts import MESSAGE_COUNTERS, CounterKey, MessageFacts

# Per step and day: flow movements around the per-message counters.
DAILY_COUNTERS = ("entered", "reached", *MESSAGE_COUNTERS, "goal_reached", "exited")
_FACT_FIELDS = [f.name for f in dataclasses.fields(MessageFacts)]
_KEYS = ("workspace_id", "message_id")

_CLAIM_IDS = """
INSERT INTO processed_events (consumer, workspace_id, event_id)
SELECT $1, * FROM unnest($2::text[], $3::text[]) ON CONFLICT DO NOTHING
RETURNING workspace_id, event_id
"""
_LOCK = f"""
SELECT {", ".join(_FACT_FIELDS)} FROM analytics_messages
WHERE (workspace_id, message_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
ORDER BY workspace_id, message_id FOR UPDATE
"""
_SQL_TYPES = {"str": "text", "int": "int", "datetime": "timestamptz"}
_FACT_TYPES = [_SQL_TYPES[str(f.type).removesuffix(" | None")] for f in dataclasses.fields(MessageFacts)]
_ARRAYS = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(_FACT_TYPES, start=1))
_SAVE = """
UPDATE analytics_messages m SET {updates}
FROM unnest({arrays}) AS u({names})
WHERE m.workspace_id = u.workspace_id AND m.message_id = u.message_id
""".format(
    updates=", ".join(f"{name} = u.{name}" for name in _FACT_FIELDS if name not in _KEYS),
    arrays=_ARRAYS,
    names=", ".join(_FACT_FIELDS),
)
_INSERT = f"""
INSERT INTO analytics_messages ({", ".join(_FACT_FIELDS)})
SELECT * FROM unnest({_ARRAYS}) ON CONFLICT DO NOTHING
RETURNING workspace_id, message_id
"""
_ADD = """
INSERT INTO analytics_daily (workspace_id, flow_id, flow_version, step_id, variant, day, {columns})
VALUES ($1, $2, $3, $4, $5, $6, {values})
ON CONFLICT (workspace_id, flow_id, flow_version, step_id, variant, day) DO UPDATE SET {updates}
""".format(
    columns=", ".join(DAILY_COUNTERS),
    values=", ".join(f"${i}" for i in range(7, 7 + len(DAILY_COUNTERS))),
    updates=", ".join(f"{c} = analytics_daily.{c} + EXCLUDED.{c}" for c in DAILY_COUNTERS),
)


async def claim(connection: asyncpg.Connection, consumer: str, ids: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Claim event ids for `consumer`; answers those not processed before."""
    if not ids:
        return set()
    rows = await connection.fetch(_CLAIM_IDS, consumer, [w for w, _ in ids], [e for _, e in ids])
    return {(row["workspace_id"], row["event_id"]) for row in rows}


async def lock_messages(
    connection: asyncpg.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], MessageFacts]:
    """The facts stored for these (workspace, message), rows locked in key order (no deadlocks); a message
    with no row yet is left out."""
    rows = sorted(set(keys))
    if not rows:
        return {}
    found = await connection.fetch(_LOCK, [w for w, _ in rows], [m for _, m in rows])
    return {(row["workspace_id"], row["message_id"]): MessageFacts(**dict(row)) for row in found}


async def insert_messages(connection: asyncpg.Connection, fresh: Sequence[MessageFacts]) -> set[tuple[str, str]]:
    """First rows of messages, facts and all in one insert (no placeholder to update: updates in place stay
    rare); answers the keys inserted, so a message another fold inserted meanwhile can be folded again."""
    if not fresh:
        return set()
    ordered = sorted(fresh, key=lambda f: (f.workspace_id, f.message_id))
    rows = await connection.fetch(_INSERT, *([getattr(f, name) for f in ordered] for name in _FACT_FIELDS))
    return {(row["workspace_id"], row["message_id"]) for row in rows}


async def save_messages(connection: asyncpg.Connection, changed: Sequence[MessageFacts]) -> None:
    """The facts of many (distinct) messages in one statement."""
    if changed:
        await connection.execute(_SAVE, *([getattr(f, name) for f in changed] for name in _FACT_FIELDS))


async def add_counters(connection: asyncpg.Connection, deltas: dict[CounterKey, Counter[str]]) -> None:
    rows = [(*key, *(delta.get(c, 0) for c in DAILY_COUNTERS)) for key, delta in deltas.items() if any(delta.values())]
    if rows:
        await connection.executemany(_ADD, sorted(rows))


async def note_firsts(connection: asyncpg.Connection, firsts: Sequence[tuple[str, str, str, datetime]]) -> None:
    if firsts:
        await connection.executemany(
            "INSERT INTO analytics_firsts (workspace_id, contact_id, event_type, first_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (workspace_id, contact_id, event_type) DO UPDATE "
            "SET first_at = LEAST(analytics_firsts.first_at, EXCLUDED.first_at)",
            sorted(firsts),
        )


async def note_entries(connection: asyncpg.Connection, entries: Sequence[tuple[str, str, str, datetime]]) -> None:
    if entries:
        await connection.executemany(
            "INSERT INTO analytics_entries (workspace_id, flow_id, contact_id, entered_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (workspace_id, flow_id, contact_id) DO UPDATE "
            "SET entered_at = LEAST(analytics_entries.entered_at, EXCLUDED.entered_at)",
            sorted(entries),
        )


async def add_send_hours(connection: asyncpg.Connection, hours: Counter[tuple[str, int]]) -> None:
    if hours:
        await connection.executemany(
            "INSERT INTO analytics_send_hours (workspace_id, hour_of_week, engagements) VALUES ($1, $2, $3) "
            "ON CONFLICT (workspace_id, hour_of_week) DO UPDATE "
            "SET engagements = analytics_send_hours.engagements + EXCLUDED.engagements",
            sorted((ws, hour, n) for (ws, hour), n in hours.items()),
        )


async def add_link_clicks(connection: asyncpg.Connection, clicks: Counter[tuple[str, str, str, str]]) -> None:
    if clicks:
        await connection.executemany(
            "INSERT INTO analytics_links (workspace_id, flow_id, step_id, url, clicks) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (workspace_id, flow_id, step_id, url) DO UPDATE "
            "SET clicks = analytics_links.clicks + EXCLUDED.clicks",
            sorted((*key, n) for key, n in clicks.items()),
        )


async def touches(connection: asyncpg.Connection, workspace_id: str, contact_id: str, since: datetime) -> list[Touch]:
    """Messages of flows and broadcasts the contact opened or clicked (by a person) since `since`."""
    rows = await connection.fetch(
        "SELECT message_id, last_opened_at, last_clicked_at FROM analytics_messages m "
        "WHERE workspace_id = $1 AND contact_id = $2 AND requested_at IS NOT NULL "
        "AND (last_clicked_at >= $3 OR last_opened_at >= $3) AND (flow_id IS NOT NULL OR EXISTS ("
        "SELECT 1 FROM broadcast_recipients b WHERE b.workspace_id = $1 AND b.contact_id = $2 "
        "AND b.message_id = m.message_id))",
        workspace_id,
        contact_id,
        since,
    )
    return [Touch(row["message_id"], row["last_opened_at"], row["last_clicked_at"]) for row in rows]


async def credit(
    connection: asyncpg.Connection,
    *,
    workspace_id: str,
    purchase_id: str,
    order_id: str,
    contact_id: str,
    credit: Credit,
    facts: MessageFacts,
    revenue: Decimal,
    currency: str,
    purchased_at: datetime,
) -> None:
    await connection.execute(
        "INSERT INTO analytics_attributions (workspace_id, purchase_id, order_id, contact_id, message_id, touch, "
        "flow_id, flow_version, step_id, variant, revenue, currency, purchased_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
        workspace_id,
        purchase_id,
        order_id,
        contact_id,
        credit.message_id,
        credit.touch,
        facts.flow_id or "",
        facts.flow_version or 0,
        facts.step_id or "",
        facts.variant or "",
        revenue,
        currency,
        purchased_at,
    )


async def load_settings(connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str) -> AnalyticsSettings:
    raw = await connection.fetchval("SELECT settings -> 'analytics' FROM workspaces WHERE id = $1", workspace_id)
    return AnalyticsSettings() if raw is None else AnalyticsSettings.model_validate(orjson.loads(raw))


async def save_settings(connection: asyncpg.Pool, workspace_id: str, settings: AnalyticsSettings) -> None:
    await connection.execute(
        "UPDATE workspaces SET settings = jsonb_set(settings, '{analytics}', $2::jsonb) WHERE id = $1",
        workspace_id,
        settings.model_dump_json(),
    )
