"""Reading customer facts from `contact_facts` (written by the scheduler as it folds events): the
scheduler's conditions and the sender's templates read the same row the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
import orjson

from shared.customer_facts import MESSAGES_WINDOW, CustomerFacts, Spend

Key = tuple[str, str]  # (workspace, contact)

FACT_COLUMNS = (
    "first_purchase_at, last_purchase_at, order_count, spent, last_order_products, "
    "last_open_at, last_click_at, last_seen_at"
)
# Each contact's row looked up by key (`LATERAL ... OFFSET 0`): a plain join lets the planner hash a scan of
# the whole table instead, which a backfill pays once per page (see contact_batch.py).
_LOAD = f"""
SELECT k.w, k.c, f.*,
       ARRAY(SELECT sent_at FROM contact_sends s WHERE s.workspace_id = k.w AND s.contact_id = k.c
             AND s.sent_at >= $3 ORDER BY sent_at) AS recent_messages
FROM unnest($1::text[], $2::text[]) AS k(w, c)
LEFT JOIN LATERAL (
    SELECT {FACT_COLUMNS} FROM contact_facts WHERE workspace_id = k.w AND contact_id = k.c OFFSET 0
) AS f ON true
"""


def _facts(row: asyncpg.Record) -> CustomerFacts:
    spent = orjson.loads(row["spent"]) if row["spent"] else {}
    return CustomerFacts(
        first_purchase_at=row["first_purchase_at"],
        last_purchase_at=row["last_purchase_at"],
        order_count=row["order_count"] or 0,
        spent={currency: Spend(**value) for currency, value in spent.items()},
        last_order_products=tuple(orjson.loads(row["last_order_products"])) if row["last_order_products"] else (),
        last_open_at=row["last_open_at"],
        last_click_at=row["last_click_at"],
        last_seen_at=row["last_seen_at"],
        recent_messages=tuple(row["recent_messages"] or ()),
    )


async def load_facts(connection: asyncpg.Connection, keys: Sequence[Key], now: datetime) -> dict[Key, CustomerFacts]:
    """Each contact's facts (empty ones for a contact without a row), with the last 30 days' sends."""
    if not keys:
        return {}
    rows = await connection.fetch(_LOAD, [k[0] for k in keys], [k[1] for k in keys], now - MESSAGES_WINDOW)
    return {(row["w"], row["c"]): _facts(row) for row in rows}
