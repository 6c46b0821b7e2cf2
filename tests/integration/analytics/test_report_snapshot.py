"""A report is read from one snapshot: an order the fold credits while a report is being read shows in the
next report whole, never in the flow's total without its step."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from services.scheduler.analytics.adapters import queries
from services.scheduler.analytics.usecases.reports import flow_report

_CREDIT = """
INSERT INTO analytics_attributions (workspace_id, purchase_id, order_id, contact_id, message_id, touch, flow_id,
                                    flow_version, step_id, variant, revenue, currency, purchased_at)
VALUES ($1, $2, $2, 'c-1', 'm-1', 'clicked', 'welcome', 1, 'hello', '', 100.5, 'NOK', now())
"""


def _orders(report: Any) -> tuple[int, int]:
    """(the flow's orders, its steps' orders added up)."""
    total = sum(r.orders for r in report.summary.revenue)
    return total, sum(r.orders for step in report.steps for r in step.revenue)


async def test_an_order_credited_while_a_flow_report_is_read_shows_in_the_next_report_whole(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace_id = f"ws-{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO analytics_daily (workspace_id, flow_id, flow_version, step_id, variant, day, delivered) "
        "VALUES ($1, 'welcome', 1, 'hello', '', current_date, 2)",
        workspace_id,
    )
    await pool.execute(_CREDIT, workspace_id, "order-1")
    read_revenue = queries.revenue
    credited: list[str] = []

    async def an_order_lands_after_the_first_read(db: queries.Db, *args: Any) -> list[dict[str, Any]]:
        rows = await read_revenue(db, *args)
        if not credited:  # the fold commits on a connection of its own between the report's reads
            credited.append("order-2")
            await pool.execute(_CREDIT, workspace_id, "order-2")
        return rows

    monkeypatch.setattr(queries, "revenue", an_order_lands_after_the_first_read)
    during = await flow_report(pool, workspace_id, "welcome")
    monkeypatch.undo()
    after = await flow_report(pool, workspace_id, "welcome")

    assert credited == ["order-2"]
    assert during is not None and _orders(during) == (1, 1)
    assert after is not None and _orders(after) == (2, 2)
