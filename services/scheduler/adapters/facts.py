"""Customer facts in PostgreSQL: one row per contact, and one order row per purchase event.

A purchase is folded only when its order row is new (`INSERT ... ON CONFLICT DO NOTHING RETURNING`),
so a replayed topic leaves the facts as they were. Rows are locked in key order while folded: two
consumers of different topics may hold events of the same contact.
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
SELECT workspace_id, contact_id FROM contact_facts
WHERE (workspace_id, contact_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
ORDER BY workspace_id, contact_id FOR UPDATE
"""
_ENSURE = """
INSERT INTO contact_facts (workspace_id, contact_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING
"""
_NEW_ORDERS = """
INSERT INTO contact_orders (workspace_id, event_id, contact_id, ordered_at, currency, revenue)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::numeric[])
ON CONFLICT DO NOTHING RETURNING workspace_id, event_id
"""
_SAVE = f"""
INSERT INTO contact_facts (workspace_id, contact_id, {FACT_COLUMNS}, updated_at)
SELECT *, now() FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[], $6::jsonb[],
                            $7::jsonb[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
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
    keys = sorted({(w, c) for w, c, _ in items})
    columns = [k[0] for k in keys], [k[1] for k in keys]
    await connection.execute(_ENSURE, *columns)  # a row to lock, for a contact's first fact
    await connection.execute(_LOCK, *columns)
    facts = await load_facts(connection, keys, now)
    events: dict[Key, list[Event]] = {key: [] for key in keys}
    for w, c, e in items:
        events[(w, c)].append(e)
    orders: dict[Key, list[Purchase]] = {key: [] for key in keys}
    for w, c, p in purchases:
        if (w, p.event_id) in fresh:
            orders[(w, c)].append(p)
    rows = [_row(key, fold(facts[key], events[key], orders[key])) for key in keys]
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
