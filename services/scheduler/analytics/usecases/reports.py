"""Reports assembled from the analytics tables: flows, one flow's funnel, A/B variants, cohorts."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any, Literal

import asyncpg

from services.scheduler.adapters.flows import FlowCatalog
from services.scheduler.analytics.adapters import queries
from services.scheduler.analytics.adapters.tables import load_settings
from services.scheduler.analytics.domain.report_models import (
    AbReport,
    CohortReport,
    CohortRow,
    Counts,
    DayRow,
    FlowReport,
    FlowSummary,
    LinkRow,
    Revenue,
    StepRow,
    VariantRow,
    Winner,
)
from services.scheduler.analytics.domain.significance import Arm, compare, ready_winner
from services.scheduler.domain import Flow
from services.scheduler.domain.steps import SplitStep
from shared.contract.internal import SplitWinnerDeclared
from shared.contract.topics import AB_WINNERS
from shared.kafka.producer import OutgoingRecord
from shared.outbox import enqueue

Metric = Literal["opened", "clicked", "converted"]


def _counts(row: dict[str, Any] | None) -> Counts:
    return Counts.model_validate({k: v for k, v in (row or {}).items() if k in Counts.model_fields and v is not None})


def _revenue(rows: list[dict[str, Any]]) -> dict[str, list[Revenue]]:
    found: dict[str, list[Revenue]] = defaultdict(list)
    for row in rows:
        found[row["key"]].append(
            Revenue(currency=row["currency"], orders=row["orders"], revenue=Decimal(row["revenue"]))
        )
    return found


async def current_flow(pool: asyncpg.Pool, workspace_id: str, flow_id: str) -> Flow | None:
    async with pool.acquire() as connection:
        return await _flow_on(connection, workspace_id, flow_id)


async def _flow_on(connection: asyncpg.Connection, workspace_id: str, flow_id: str) -> Flow | None:
    catalog = FlowCatalog()
    head = await catalog.head(connection, workspace_id, flow_id)
    return None if head is None else await catalog.flow(connection, workspace_id, flow_id, head.current_version)


def _summary(flow_id: str, counts: Counts, revenue: list[Revenue]) -> FlowSummary:
    conversion = counts.goal_reached / counts.entered if counts.entered else 0.0
    return FlowSummary(
        flow_id=flow_id, counts=counts, open_rate=counts.open_rate, click_rate=counts.click_rate,
        conversion_rate=conversion, revenue=revenue,
    )  # fmt: skip


async def flows_report(pool: asyncpg.Pool, workspace_id: str) -> list[FlowSummary]:
    async with queries.snapshot(pool) as db:
        revenue = _revenue(await queries.revenue(db, workspace_id, None, "flow_id"))
        rows = await queries.totals_by_flow(db, workspace_id)
    return [_summary(row["flow_id"], _counts(row), revenue.get(row["flow_id"], [])) for row in rows]


def _day(row: dict[str, Any]) -> DayRow:
    day = Counts(delivered=row["delivered"], opened=row["opened"], clicked=row["clicked"],
                 opens_unknown=row["opens_unknown"])  # fmt: skip
    return DayRow(day=row["day"], delivered=day.delivered, opened=day.opened, clicked=day.clicked,
                  open_rate=day.open_rate, click_rate=day.click_rate, opens_unknown=day.opens_unknown)  # fmt: skip


async def flow_report(pool: asyncpg.Pool, workspace_id: str, flow_id: str) -> FlowReport | None:
    async with queries.snapshot(pool) as db:
        return await _flow_report(db, workspace_id, flow_id)


async def _flow_report(db: asyncpg.Connection, workspace_id: str, flow_id: str) -> FlowReport | None:
    steps = {row["step_id"]: _counts(row) for row in await queries.totals_by_step(db, workspace_id, flow_id)}
    if not steps:
        return None
    flow = await _flow_on(db, workspace_id, flow_id)
    order = [step.id for step in flow.steps] if flow else []
    order += sorted(s for s in steps if s and s not in order)
    total = Counts()
    for counts in steps.values():
        total = Counts.model_validate({k: getattr(total, k) + getattr(counts, k) for k in Counts.model_fields})
    revenue = _revenue(await queries.revenue(db, workspace_id, flow_id, "step_id"))
    flow_revenue = _revenue(await queries.revenue(db, workspace_id, flow_id, "flow_id")).get(flow_id, [])
    return FlowReport(
        flow_id=flow_id,
        summary=_summary(flow_id, total, flow_revenue),
        steps=[
            StepRow(step_id=s, counts=c, open_rate=c.open_rate, click_rate=c.click_rate, revenue=revenue.get(s, []))
            for s in order
            if (c := steps.get(s, Counts()))
        ],
        days=[_day(row) for row in await queries.days(db, workspace_id, flow_id)],
        links=[LinkRow(**row) for row in await queries.links(db, workspace_id, flow_id)],
    )


def _split(flow: Flow | None, step_id: str | None) -> SplitStep | None:
    splits = [s for s in (flow.steps if flow else ()) if isinstance(s, SplitStep)]
    return next((s for s in splits if step_id is None or s.id == step_id), None)


async def ab_report(
    pool: asyncpg.Pool,
    workspace_id: str,
    flow_id: str,
    *,
    split_step: str | None = None,
    metric: Metric = "opened",
    confidence: float = 0.95,
) -> AbReport:
    async with queries.snapshot(pool) as db:
        flow = await _flow_on(db, workspace_id, flow_id)
        variant_rows = await queries.totals_by_variant(db, workspace_id, flow_id)
        revenue = _revenue(await queries.revenue(db, workspace_id, flow_id, "variant"))
        winners = await queries.winners(db, workspace_id, flow_id)
    split = _split(flow, split_step)
    split_id = split.id if split else split_step
    per_variant: dict[str, Counts] = defaultdict(Counts)
    entered: dict[str, int] = defaultdict(int)
    for row in variant_rows:
        counts = _counts(row)
        current = per_variant[row["variant"]]
        per_variant[row["variant"]] = Counts.model_validate(
            {k: getattr(current, k) + getattr(counts, k) for k in Counts.model_fields}
        )
        if row["step_id"] == split_id:
            entered[row["variant"]] += counts.reached
    names = [v.id for v in split.variants] if split else sorted(per_variant)
    arms = []
    for name in names:
        counts = per_variant[name]
        if metric == "converted":
            arms.append(Arm(name, entered[name], counts.goal_reached))
        else:
            arms.append(Arm(name, counts.delivered, getattr(counts, metric)))
    result = compare(arms, metric, confidence)
    declared = [w for w in winners if w["step_id"] == split_id]
    return AbReport(
        flow_id=flow_id, split_step=split_id, metric=metric, confidence=confidence, test=result.test,
        p_value=result.p_value, significant=result.significant, better=result.better,
        variants=[
            VariantRow(
                variant=arm.variant, entered=entered[arm.variant], delivered=per_variant[arm.variant].delivered,
                opened=per_variant[arm.variant].opened, clicked=per_variant[arm.variant].clicked,
                goal_reached=per_variant[arm.variant].goal_reached, rate=arm.rate, low=arm.low, high=arm.high,
                probability_best=arm.probability_best, revenue=revenue.get(arm.variant, []),
            )  # fmt: skip
            for arm in result.arms
        ],
        winner=Winner(**declared[0]) if declared else None,
    )  # fmt: skip


async def declare_winners(pool: asyncpg.Pool, workspace_id: str, flow: Flow) -> list[Winner]:
    """For splits with `auto_winner`: declare the winner once the test is significant on enough contacts."""
    declared = []
    for step in flow.steps:
        if not isinstance(step, SplitStep) or step.auto_winner is None or step.id in flow.winners:
            continue
        rule = step.auto_winner
        report = await ab_report(
            pool, workspace_id, flow.id, split_step=step.id, metric=rule.metric, confidence=rule.confidence
        )
        trials = [v.entered if rule.metric == "converted" else v.delivered for v in report.variants]
        variant = ready_winner(report.better, trials, rule.min_sample)
        if report.winner is not None or variant is None:
            continue
        async with pool.acquire() as connection, connection.transaction():
            decided_at = await queries.declare_winner(
                connection, workspace_id, flow.id, step.id, variant, rule.metric, rule.confidence
            )
            if decided_at is not None:
                # Recorded as an event too, in the same transaction (the outbox relays it).
                notice = SplitWinnerDeclared(
                    event_id=f"winner-{workspace_id}-{flow.id}-{step.id}",
                    workspace_id=workspace_id,
                    flow_id=flow.id,
                    step_id=step.id,
                    variant=variant,
                    metric=rule.metric,
                    confidence=rule.confidence,
                    decided_at=decided_at,
                )
                await enqueue(connection, [OutgoingRecord.of(AB_WINNERS, notice, key=flow.id)])
        if decided_at is not None:
            declared.append(
                Winner(step_id=step.id, variant=variant, metric=rule.metric, confidence=rule.confidence,
                       decided_at=decided_at)
            )  # fmt: skip
    return declared


async def cohorts_report(
    pool: asyncpg.Pool, workspace_id: str, flow_id: str | None = None, value_event: str | None = None
) -> CohortReport:
    event = value_event or (await load_settings(pool, workspace_id)).value_event
    rows = await queries.cohorts(pool, workspace_id, flow_id, event)
    return CohortReport(value_event=event, cohorts=[CohortRow(**row) for row in rows])
