"""`dripline report`: flow analytics as tables, read straight from the analytics tables."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.scheduler.analytics.models import Revenue
from services.scheduler.analytics.reports import Metric, ab_report, cohorts_report, flow_report, flows_report
from shared.settings import SchedulerSettings

report_app = typer.Typer(help="Flow performance, A/B variants and cohorts.", no_args_is_help=True)
console = Console()
T = TypeVar("T")
WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Workspace id")]


def _run(work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    async def main() -> T:
        from shared.db.pool import create_pool

        pool = await create_pool(SchedulerSettings())
        try:
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(main())


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _money(revenue: list[Revenue]) -> str:
    return ", ".join(f"{r.revenue:.2f} {r.currency}" for r in revenue) or "–"


@report_app.command("flows")
def flows(workspace: WorkspaceOption = "demo") -> None:
    """Every flow: entered, delivered, open and click rates, conversion, revenue."""
    rows = _run(lambda pool: flows_report(pool, workspace))
    table = Table("flow", "entered", "delivered", "open rate", "click rate", "conversion", "revenue",
                  title=f"Flows of {workspace}")  # fmt: skip
    for row in rows:
        c = row.counts
        table.add_row(row.flow_id, str(c.entered), str(c.delivered), _pct(row.open_rate), _pct(row.click_rate),
                      _pct(row.conversion_rate), _money(row.revenue))  # fmt: skip
    console.print(table)


@report_app.command("flow")
def flow(flow_id: str, workspace: WorkspaceOption = "demo") -> None:
    """One flow's funnel per step, its days and its top links."""
    report = _run(lambda pool: flow_report(pool, workspace, flow_id))
    if report is None:
        console.print(f"[yellow]no analytics for {flow_id} in {workspace}[/yellow]")
        raise typer.Exit(1)
    table = Table("step", "reached", "delivered", "opened", "clicked", "machine opens", "machine clicks", "bounced",
                  "unsubscribed", "open rate", "click rate", "revenue", title=f"{flow_id}: funnel")  # fmt: skip
    for step in report.steps:
        c = step.counts
        table.add_row(step.step_id, *map(str, (c.reached, c.delivered, c.opened, c.clicked, c.machine_opened,
                      c.machine_clicked, c.bounced, c.unsubscribed)), _pct(step.open_rate), _pct(step.click_rate),
                      _money(step.revenue))  # fmt: skip
    console.print(table)
    days = Table("day", "delivered", "opened", "clicked", "open rate", "click rate", title="per send day")
    for day in report.days:
        days.add_row(str(day.day), str(day.delivered), str(day.opened), str(day.clicked), _pct(day.open_rate),
                     _pct(day.click_rate))  # fmt: skip
    console.print(days)
    links = Table("link", "step", "clicks", title="top clicked links")
    for link in report.links:
        links.add_row(link.url, link.step_id, str(link.clicks))
    console.print(links)


@report_app.command("ab")
def ab(
    flow_id: str,
    workspace: WorkspaceOption = "demo",
    metric: Annotated[str, typer.Option(help="opened | clicked | converted")] = "opened",
    confidence: float = 0.95,
    step: Annotated[str | None, typer.Option(help="The split step (default: the flow's first)")] = None,
) -> None:
    """A split's variants: rates with intervals, the significance test and the probability to be best."""
    if metric not in ("opened", "clicked", "converted"):
        raise typer.BadParameter("metric must be opened, clicked or converted")
    chosen: Metric = metric  # type: ignore[assignment]
    report = _run(lambda pool: ab_report(pool, workspace, flow_id, split_step=step, metric=chosen,
                                         confidence=confidence))  # fmt: skip
    table = Table("variant", "entered", "delivered", "opened", "clicked", "converted", "rate",
                  f"{confidence:.0%} interval", "P(best)", "revenue",
                  title=f"{flow_id}: split {report.split_step} by {metric}")  # fmt: skip
    for v in report.variants:
        table.add_row(v.variant, str(v.entered), str(v.delivered), str(v.opened), str(v.clicked), str(v.goal_reached),
                      _pct(v.rate), f"{_pct(v.low)} – {_pct(v.high)}", _pct(v.probability_best),
                      _money(v.revenue))  # fmt: skip
    console.print(table)
    p_value = "–" if report.p_value is None else f"{report.p_value:.4f}"
    verdict = f"[green]{report.better} is better[/green]" if report.better else "no significant difference yet"
    console.print(f"{report.test}: p = {p_value} → {verdict}")
    if report.winner:
        since = f"{report.winner.decided_at:%Y-%m-%d %H:%M}"
        console.print(f"winner for new entrants since {since}: {report.winner.variant}")


@report_app.command("cohorts")
def cohorts(
    workspace: WorkspaceOption = "demo",
    flow_id: Annotated[str | None, typer.Option("--flow", help="Only this flow")] = None,
    value_event: Annotated[str | None, typer.Option(help="The 'value' event (default: workspace setting)")] = None,
) -> None:
    """Weekly entry cohorts: sign-up to first purchase, and to the value event."""
    report = _run(lambda pool: cohorts_report(pool, workspace, flow_id, value_event))

    def hours(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f} h"

    table = Table("flow", "week", "contacts", "bought", "median to purchase", f"did {report.value_event}",
                  "median to value", title="Entry cohorts")  # fmt: skip
    for row in report.cohorts:
        to_purchase, to_value = hours(row.median_hours_to_purchase), hours(row.median_hours_to_value)
        table.add_row(row.flow_id, str(row.week), str(row.contacts), str(row.purchasers), to_purchase,
                      str(row.reached_value), to_value)  # fmt: skip
    console.print(table)
