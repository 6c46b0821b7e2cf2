"""`dripline report`: flow analytics as tables, read straight from the analytics tables."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.scheduler.analytics.domain.broadcast_report import variant_row
from services.scheduler.analytics.domain.report_models import Counts, Revenue
from services.scheduler.analytics.usecases.broadcast_report import broadcast_report
from services.scheduler.analytics.usecases.lifecycle_report import lifecycle_report
from services.scheduler.analytics.usecases.reports import Metric, ab_report, cohorts_report, flow_report, flows_report
from shared.settings import SchedulerSettings

report_app = typer.Typer(help="Flow and broadcast performance, A/B variants and cohorts.", no_args_is_help=True)
console = Console()
T = TypeVar("T")
WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Workspace id")]


def with_pool(work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run `work` on a pool of the scheduler's database (the `dripline` commands that read its tables)."""

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


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} h"


@report_app.callback(invoke_without_command=True)
def report(
    context: typer.Context,
    broadcast_id: Annotated[str | None, typer.Option("--broadcast", help="One broadcast's report")] = None,
    workspace: WorkspaceOption = "demo",
) -> None:
    """`dripline report --broadcast ID` is `dripline report broadcast ID`."""
    if context.invoked_subcommand is None and broadcast_id is not None:
        broadcast(broadcast_id, workspace)


def _funnel(title: str, heads: tuple[str, str], rows: list[tuple[str, Counts, int, list[Revenue]]]) -> Table:
    """A funnel table: a row per step or variant, from its first count (reached, sent) on."""
    table = Table(*heads, "delivered", "opened", "opens unknown", "clicked", "machine opens", "machine clicks",
                  "bounced", "unsubscribed", "open rate", "click rate", "revenue", title=title)  # fmt: skip
    for name, c, first, revenue in rows:
        table.add_row(name, *map(str, (first, c.delivered, c.opened, c.opens_unknown, c.clicked, c.machine_opened,
                      c.machine_clicked, c.bounced, c.unsubscribed)), _pct(c.open_rate), _pct(c.click_rate),
                      _money(revenue))  # fmt: skip
    if any(c.opens_unknown for _, c, _, _ in rows):
        table.caption = "opens unknown: delivered without the open pixel; open rates are over the rest"
    return table


@report_app.command("flows")
def flows(workspace: WorkspaceOption = "demo") -> None:
    """Every flow: entered, delivered, open and click rates, conversion, revenue."""
    rows = with_pool(lambda pool: flows_report(pool, workspace))
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
    report = with_pool(lambda pool: flow_report(pool, workspace, flow_id))
    if report is None:
        console.print(f"[yellow]no analytics for {flow_id} in {workspace}[/yellow]")
        raise typer.Exit(1)
    rows = [(step.step_id, step.counts, step.counts.reached, step.revenue) for step in report.steps]
    console.print(_funnel(f"{flow_id}: funnel", ("step", "reached"), rows))
    days = Table("day", "delivered", "opened", "opens unknown", "clicked", "open rate", "click rate",
                 title="per send day")  # fmt: skip
    for day in report.days:
        days.add_row(str(day.day), str(day.delivered), str(day.opened), str(day.opens_unknown), str(day.clicked),
                     _pct(day.open_rate), _pct(day.click_rate))  # fmt: skip
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
    report = with_pool(lambda pool: ab_report(pool, workspace, flow_id, split_step=step, metric=chosen,
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


@report_app.command("lifecycle")
def lifecycle(flow_id: str, workspace: WorkspaceOption = "demo") -> None:
    """Repeat purchases by entry week, time to a second purchase, customers won back, codes redeemed."""
    report = with_pool(lambda pool: lifecycle_report(pool, workspace, flow_id))
    if report is None:
        console.print(f"[yellow]nobody has entered {flow_id} in {workspace}[/yellow]")
        raise typer.Exit(1)

    table = Table("week", "contacts", "buyers", "repeat buyers", "repeat rate", "median to 2nd purchase",
                  title=f"{flow_id}: repeat purchases by entry week")  # fmt: skip
    for row in report.cohorts:
        table.add_row(str(row.week), str(row.contacts), str(row.buyers), str(row.repeat_buyers),
                      _pct(row.repeat_rate), _hours(row.median_hours_to_second_purchase))  # fmt: skip
    console.print(table)
    console.print(f"repeat rate {_pct(report.repeat_rate)}, median time to a second purchase "
                  f"{_hours(report.median_hours_to_second_purchase)}")  # fmt: skip
    won = report.reactivation
    console.print(f"won back: {won.reactivated} of {won.customers_at_entry} customers at entry "
                  f"({_pct(won.reactivated_share)}), of {won.entered} entered")  # fmt: skip
    for code in report.codes:
        console.print(f"codes at {code.step_id}: {code.issued} issued, {code.redeemed} redeemed")


@report_app.command("cohorts")
def cohorts(
    workspace: WorkspaceOption = "demo",
    flow_id: Annotated[str | None, typer.Option("--flow", help="Only this flow")] = None,
    value_event: Annotated[str | None, typer.Option(help="The 'value' event (default: workspace setting)")] = None,
) -> None:
    """Weekly entry cohorts: sign-up to first purchase, and to the value event."""
    report = with_pool(lambda pool: cohorts_report(pool, workspace, flow_id, value_event))

    table = Table("flow", "week", "contacts", "bought", "median to purchase", f"did {report.value_event}",
                  "median to value", title="Entry cohorts")  # fmt: skip
    for row in report.cohorts:
        to_purchase, to_value = _hours(row.median_hours_to_purchase), _hours(row.median_hours_to_value)
        table.add_row(row.flow_id, str(row.week), str(row.contacts), str(row.purchasers), to_purchase,
                      str(row.reached_value), to_value)  # fmt: skip
    console.print(table)


@report_app.command("broadcast")
def broadcast(broadcast_id: str, workspace: WorkspaceOption = "demo") -> None:
    """One broadcast's funnel per variant, the test's decision, its top links and revenue."""
    report = with_pool(lambda pool: broadcast_report(pool, workspace, broadcast_id))
    if report is None:
        console.print(f"[yellow]no broadcast {broadcast_id} in {workspace}[/yellow]")
        raise typer.Exit(1)
    variants = [*report.variants, variant_row("all", report.counts, report.revenue)]
    rows = [(v.variant, v.counts, v.counts.sent, v.revenue) for v in (variants if len(variants) > 2 else variants[:1])]
    console.print(_funnel(f"{broadcast_id} ({report.name}, {report.state}): funnel", ("variant", "sent"), rows))
    console.print(f"converted: {report.orders} orders, {_money(report.revenue)}")
    if report.decision:
        console.print(f"test: {report.winner} won — {report.decision.get('why', '')}")
    links = Table("link", "clicks", "clickers", title="top clicked links")
    for link in report.links:
        links.add_row(link.url, str(link.clicks), str(link.clickers))
    console.print(links)
