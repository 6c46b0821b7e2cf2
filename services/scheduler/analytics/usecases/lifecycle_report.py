"""The lifecycle report of one flow, from its entries, the customer facts' orders and its discount codes."""

from __future__ import annotations

import asyncpg

from services.scheduler.adapters.coupons import issued_counts
from services.scheduler.analytics.adapters.lifecycle_queries import repeat_and_reactivation
from services.scheduler.analytics.domain.lifecycle_report import (
    CodeCount,
    LifecycleReport,
    Reactivation,
    RepeatCohort,
    share,
)


async def lifecycle_report(pool: asyncpg.Pool, workspace_id: str, flow_id: str) -> LifecycleReport | None:
    """None when nobody has entered the flow in this workspace."""
    rows = await repeat_and_reactivation(pool, workspace_id, flow_id)
    if not rows:
        return None
    *weeks, total = rows
    async with pool.acquire() as connection:
        codes = await issued_counts(connection, workspace_id, flow_id)
    return LifecycleReport(
        flow_id=flow_id,
        median_hours_to_second_purchase=total["median_hours_to_second_purchase"],
        repeat_rate=share(total["repeat_buyers"], total["buyers"]),
        cohorts=[
            RepeatCohort(
                week=row["week"],
                contacts=row["contacts"],
                buyers=row["buyers"],
                repeat_buyers=row["repeat_buyers"],
                repeat_rate=share(row["repeat_buyers"], row["buyers"]),
                median_hours_to_second_purchase=row["median_hours_to_second_purchase"],
            )  # fmt: skip
            for row in weeks
        ],
        reactivation=Reactivation(
            entered=total["contacts"],
            customers_at_entry=total["customers_at_entry"],
            reactivated=total["reactivated"],
            reactivated_share=share(total["reactivated"], total["customers_at_entry"]),
        ),  # fmt: skip
        codes=[CodeCount(step_id=c.step_id, issued=c.issued, redeemed=c.redeemed) for c in codes],
    )
