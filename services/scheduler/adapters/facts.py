"""Customer facts in PostgreSQL: one row per contact, and one order row per purchase event.

A purchase is folded only when its order row is new (`INSERT ... ON CONFLICT DO NOTHING RETURNING`),
so a replayed topic leaves the facts as they were. Rows are locked in key order while folded: two
consumers of different topics may hold events of the same contact. A contact's first facts are inserted
whole; if another consumer inserted them first, the batch's events are folded again over its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from services.scheduler.domain import Event
from services.scheduler.domain.facts import CustomerFacts
from services.scheduler.domain.facts_fold import Purchase, fold, is_visit, purchase_of
from shared.customer_facts_table import FACT_COLUMNS, Key, load_facts

__all__ = ["load_facts", "record_facts"]

_LOCK = """
SELECT workspace_id AS w, contact_id AS c FROM contact_facts
WHERE (workspace_id, contact_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
ORDER BY workspace_id, contact_id FOR UPDATE
"""
_NEW_ORDERS = """
INSERT INTO contact_orders (workspace_id, event_id, contact_id, ordered_at, currency, revenue)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::numeric[])
ON CONFLICT DO NOTHING RETURNING workspace_id, event_id
"""
_ROWS = """
SELECT *, now() FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[], $6::jsonb[],
                            $7::jsonb[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
"""
_INSERT = f"""
INSERT INTO contact_facts (workspace_id, contact_id, {FACT_COLUMNS}, updated_at) {_ROWS}
ON CONFLICT DO NOTHING RETURNING workspace_id, contact_id
"""
_SAVE = f"""
INSERT INTO contact_facts (workspace_id, contact_id, {FACT_COLUMNS}, updated_at) {_ROWS}
ON CONFLICT (workspace_id, contact_id) DO UPDATE SET
    first_purchase_at = EXCLUDED.first_purchase_at, last_purchase_at = EXCLUDED.last_purchase_at,
    order_count = EXCLUDED.order_count, spent = EXCLUDED.spent, last_order_products = EXCLUDED.last_order_products,
    last_open_at = EXCLUDED.last_open_at, last_click_at = EXCLUDED.last_click_at,
    last_seen_at = EXCLUDED.last_seen_at, updated_at = now()
"""


def _counts(event: Event) -> bool:
    return purchase_of(event) is not None or is_visit(event) or (event.type == "message_opened" and not event.machine)


async def record_facts(connection: asyncpg.Connection, items: Sequence[tuple[str, str, Event]], now: datetime) -> None:
    """Fold a batch's events into their contacts' facts; replayed purchases are not counted again."""
    items = [item for item in items if _counts(item[2])]
    if not items:
        return
    purchases = [(w, c, p) for w, c, e in items if (p := purchase_of(e)) is not None]
    fresh = await _claim_orders(connection, purchases)
    events: dict[Key, list[Event]] = {}
    for w, c, e in items:
        events.setdefault((w, c), []).append(e)
    orders: dict[Key, list[Purchase]] = {}
    for w, c, p in purchases:
        if (w, p.event_id) in fresh:
            orders.setdefault((w, c), []).append(p)
    keys = sorted(events)
    stored = await _lock(connection, keys)
    rows = await _folded(connection, keys, events, orders, now)
    first = [row for row in rows if row[:2] not in stored]
    raced = {row[:2] for row in first} - await _insert(connection, first)
    if raced:  # another consumer wrote these contacts' first facts since we looked: fold over its rows
        await _lock(connection, sorted(raced))
        rows = [*rows, *await _folded(connection, sorted(raced), events, orders, now)]
    latest = {row[:2]: row for row in rows}  # a raced contact's refolded row comes last and wins
    await _save(connection, [row for key, row in latest.items() if key in stored or key in raced])


async def _lock(connection: asyncpg.Connection, keys: Sequence[Key]) -> set[Key]:
    """Lock the facts rows these contacts have, in key order (no deadlocks); answers which have one."""
    found = await connection.fetch(_LOCK, [k[0] for k in keys], [k[1] for k in keys])
    return {(row["w"], row["c"]) for row in found}


async def _folded(
    connection: asyncpg.Connection,
    keys: Sequence[Key],
    events: dict[Key, list[Event]],
    orders: dict[Key, list[Purchase]],
    now: datetime,
) -> list[tuple[Any, ...]]:
    facts = await load_facts(connection, keys, now)
    return [_row(key, fold(facts[key], events[key], orders.get(key, []))) for key in keys]


async def _insert(connection: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> set[Key]:
    """A contact's first facts, whole, in one insert (nothing to update in place); answers the keys inserted."""
    if not rows:
        return set()
    found = await connection.fetch(_INSERT, *(list(column) for column in zip(*rows, strict=True)))
    return {(row["workspace_id"], row["contact_id"]) for row in found}


async def _save(connection: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await connection.execute(_SAVE, *(list(column) for column in zip(*rows, strict=True)))


def _row(key: Key, facts: CustomerFacts) -> tuple[Any, ...]:
    spent = {currency: {"total": str(s.total), "orders": s.orders} for currency, s in facts.spent.items()}
    return (
        *key, facts.first_purchase_at, facts.last_purchase_at, facts.order_count, orjson.dumps(spent).decode(),
        orjson.dumps(list(facts.last_order_products)).decode(), facts.last_open_at, facts.last_click_at,
        facts.last_seen_at,
    )  # fmt: skip


async def _claim_orders(connection: asyncpg.Connection, purchases: list[tuple[str, str, Purchase]]) -> set[Key]:
    """(workspace, event id) of the purchases seen for the first time."""
    if not purchases:
        return set()
    rows = await connection.fetch(
        _NEW_ORDERS,
        [w for w, _, _ in purchases],
        [p.event_id for _, _, p in purchases],
        [c for _, c, _ in purchases],
        [p.at for _, _, p in purchases],
        [p.currency for _, _, p in purchases],
        [p.revenue for _, _, p in purchases],
    )
    return {(row["workspace_id"], row["event_id"]) for row in rows}
