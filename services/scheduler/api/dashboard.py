"""A read-only dashboard for marketers: server-rendered HTML with inline SVG charts, no scripts.

Sign in once with the workspace API key (kept in an HttpOnly cookie), or send it as a header.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from string import Template
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.scheduler.analytics.domain.lifecycle_report import LifecycleReport
from services.scheduler.analytics.domain.report_models import AbReport, FlowReport, Revenue
from services.scheduler.analytics.usecases.lifecycle_report import lifecycle_report
from services.scheduler.analytics.usecases.reports import ab_report, flow_report, flows_report
from services.scheduler.api import charts
from shared.api_auth import authorise
from shared.deliverability import COMPLAINT_LIMIT, DomainDay, daily_rates

router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)
PAGE = Template((Path(__file__).resolve().parent / "dashboard.html").read_text(encoding="utf-8"))
COOKIE = "dripline_key"
SCOPE = "reports:read"
LOGIN = """<section><form method="post" action="/dashboard/login">
<label>Workspace API key <input name="key" type="password" autocomplete="off"></label>
<button type="submit">Sign in</button></form></section>"""


async def _workspace_or_login(request: Request) -> str | RedirectResponse:
    """The key from a header, else from the sign-in cookie; without a valid one (holding reports:read),
    the sign-in page."""
    authorization = request.headers.get("authorization", "")
    key = authorization[7:].strip() if authorization[:7].lower() == "bearer " else None
    key = key or request.headers.get("x-api-key") or request.cookies.get(COOKIE)
    try:
        return await authorise(request, key, SCOPE)
    except HTTPException:
        return RedirectResponse("/dashboard/login", status_code=303)


def _page(title: str, workspace: str, body: str) -> HTMLResponse:
    return HTMLResponse(PAGE.substitute(title=escape(title), workspace=escape(workspace), body=body))


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.resources.pool
    return pool


def _money(revenue: list[Revenue]) -> str:
    return ", ".join(f"{r.revenue.quantize(Decimal('0.01'))} {escape(r.currency)}" for r in revenue) or "–"


def _cell(value: object, metric: str, **keys: str) -> str:
    attributes = "".join(f' data-{name}="{escape(v)}"' for name, v in keys.items())
    return f'<td data-metric="{metric}"{attributes}>{escape(str(value))}</td>'


@router.get("/login", response_class=HTMLResponse)
async def login_form() -> HTMLResponse:
    return _page("Sign in", "–", LOGIN)


@router.post("/login")
async def login(key: Annotated[str, Form()]) -> RedirectResponse:
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(COOKIE, key, httponly=True, samesite="strict")
    return response


@router.get("", response_class=HTMLResponse, response_model=None)
async def overview(request: Request) -> HTMLResponse | RedirectResponse:
    workspace = await _workspace_or_login(request)
    if isinstance(workspace, RedirectResponse):
        return workspace
    rows = []
    for flow in await flows_report(_pool(request), workspace):
        c, key = flow.counts, {"flow": flow.flow_id}
        rows.append(
            f'<tr><td><a href="/dashboard/flows/{escape(flow.flow_id)}">{escape(flow.flow_id)}</a></td>'
            + _cell(c.entered, "entered", **key) + _cell(c.delivered, "delivered", **key)
            + _cell(f"{flow.open_rate:.1%}", "open_rate", **key) + _cell(f"{flow.click_rate:.1%}", "click_rate", **key)
            + _cell(f"{flow.conversion_rate:.1%}", "conversion_rate", **key)
            + f"<td>{_money(flow.revenue)}</td></tr>"
        )  # fmt: skip
    table = (
        "<section><h2>Flows</h2><table><tr><th>flow</th><th>entered</th><th>delivered</th><th>open rate</th>"
        "<th>click rate</th><th>conversion</th><th>revenue</th></tr>" + "".join(rows) + "</table></section>"
    )
    flows = table if rows else '<p class="empty">No flow has data yet.</p>'
    today = await daily_rates(_pool(request), datetime.now(UTC).date(), workspace)
    return _page("Flows", workspace, flows + _deliverability_section(today))


def _share(day: DomainDay, count: int, metric: str) -> str:
    rate = day.rate(count)
    return _cell("–" if rate is None else f"{count} ({rate:.2%})", metric, domain=day.receiving_domain)


def _deliverability_section(days: list[DomainDay]) -> str:
    """Today's bounces, complaints and unsubscribes per receiving domain, with Gmail and Yahoo's limit."""
    if not days:
        return ""
    warnings = "".join(
        f'<p class="warning" data-metric="warning" data-domain="{escape(d.receiving_domain)}">'
        f"{escape(d.receiving_domain)}: {escape(w)}</p>"
        for d in days
        for w in d.warnings()
    )
    rows = "".join(
        f"<tr><td>{escape(d.receiving_domain)}</td>" + _cell(d.sent, "sent", domain=d.receiving_domain)
        + _share(d, d.bounced, "bounced") + _share(d, d.complained, "complained")
        + _share(d, d.unsubscribed, "unsubscribed") + "</tr>"
        for d in days
    )  # fmt: skip
    return (
        f"<section><h2>Deliverability today (UTC), by receiving domain</h2>{warnings}"
        "<table><tr><th>receiving domain</th><th>sent</th><th>bounced</th><th>complaints</th>"
        f"<th>unsubscribes</th></tr>{rows}</table>"
        f'<p class="legend">Gmail and Yahoo ask bulk senders to keep complaints under {COMPLAINT_LIMIT:.1%} '
        "of mail sent.</p></section>"
    )


def _funnel_table(report: FlowReport) -> str:
    head = "".join(f"<th>{n}</th>" for n in ("step", "reached", "delivered", "opened", "opens unknown", "clicked",
                                               "machine opens", "machine clicks", "bounced", "unsubscribed",
                                               "open rate", "click rate", "revenue"))  # fmt: skip
    rows = []
    for step in report.steps:
        c, key = step.counts, {"step": step.step_id}
        rows.append(
            f"<tr><td>{escape(step.step_id)}</td>" + _cell(c.reached, "reached", **key)
            + _cell(c.delivered, "delivered", **key) + _cell(c.opened, "opened", **key)
            + _cell(c.opens_unknown, "opens_unknown", **key) + _cell(c.clicked, "clicked", **key)
            + _cell(c.machine_opened, "machine_opened", **key)
            + _cell(c.machine_clicked, "machine_clicked", **key) + _cell(c.bounced, "bounced", **key)
            + _cell(c.unsubscribed, "unsubscribed", **key) + _cell(f"{step.open_rate:.1%}", "open_rate", **key)
            + _cell(f"{step.click_rate:.1%}", "click_rate", **key) + f"<td>{_money(step.revenue)}</td></tr>"
        )  # fmt: skip
    legend = ""
    if any(step.counts.opens_unknown for step in report.steps):
        legend = ('<p class="legend">Opens unknown: delivered without the open pixel (tracking off, or too short '
                  "to carry one); open rates are over the rest.</p>")  # fmt: skip
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{legend}"


def _ab_section(ab: AbReport) -> str:
    if not ab.variants:
        return ""
    rows = "".join(
        f"<tr><td>{escape(v.variant)}</td>" + _cell(v.entered, "entered", variant=v.variant)
        + _cell(v.delivered, "delivered", variant=v.variant) + _cell(v.opened, "opened", variant=v.variant)
        + _cell(v.clicked, "clicked", variant=v.variant) + _cell(f"{v.rate:.1%}", "rate", variant=v.variant)
        + f"<td>{v.low:.1%} – {v.high:.1%}</td>" + _cell(f"{v.probability_best:.1%}", "probability_best",
                                                          variant=v.variant)
        + f"<td>{_money(v.revenue)}</td></tr>"
        for v in ab.variants
    )  # fmt: skip
    p_value = "–" if ab.p_value is None else f"{ab.p_value:.4f}"
    verdict = f"{escape(ab.better)} is better" if ab.better else "no significant difference yet"
    winner = f" · winner for new entrants: <b>{escape(ab.winner.variant)}</b>" if ab.winner else ""
    return (
        f"<section><h2>A/B: split {escape(ab.split_step or '')} ({escape(ab.metric)} rate, "
        f"{ab.confidence:.0%} intervals)</h2>{charts.intervals(ab.variants)}"
        "<table><tr><th>variant</th><th>entered</th><th>delivered</th><th>opened</th><th>clicked</th><th>rate</th>"
        f"<th>interval</th><th>P(best)</th><th>revenue</th></tr>{rows}</table>"
        f'<p class="verdict" data-metric="better">{verdict}</p><p>{escape(ab.test)}: p = {p_value}{winner}</p>'
        "</section>"
    )


def _lifecycle_section(report: LifecycleReport | None) -> str:
    """Repeat purchases by entry week and the customers won back; nothing for a flow nobody entered."""
    if report is None:
        return ""
    hours = report.median_hours_to_second_purchase
    rows = "".join(
        f"<tr><td>{c.week}</td><td>{c.contacts}</td><td>{c.buyers}</td><td>{c.repeat_buyers}</td>"
        f"<td>{c.repeat_rate:.1%}</td></tr>"
        for c in report.cohorts
    )
    won = report.reactivation
    return (
        "<section><h2>Repeat purchases and customers won back</h2>"
        f'<p data-metric="repeat_rate">{report.repeat_rate:.1%} of buyers bought again; median time to a second '
        f"purchase: {'–' if hours is None else f'{hours:.1f} h'}</p>"
        f'<p data-metric="reactivated">{won.reactivated} of {won.customers_at_entry} customers at entry bought '
        f"after entering ({won.reactivated_share:.1%})</p>"
        "<table><tr><th>entry week</th><th>contacts</th><th>buyers</th><th>repeat buyers</th><th>repeat rate</th>"
        f"</tr>{rows}</table></section>"
    )


@router.get("/flows/{flow_id}", response_class=HTMLResponse, response_model=None)
async def flow_page(request: Request, flow_id: str) -> HTMLResponse | RedirectResponse:
    workspace = await _workspace_or_login(request)
    if isinstance(workspace, RedirectResponse):
        return workspace
    report = await flow_report(_pool(request), workspace, flow_id)
    if report is None:
        return _page(flow_id, workspace, '<p class="empty">No data for this flow yet.</p>')
    ab = await ab_report(_pool(request), workspace, flow_id)
    lifecycle = await lifecycle_report(_pool(request), workspace, flow_id)
    legend = (
        '<p class="legend"><span><i class="swatch" style="background:#d9dee7"></i> reached</span>'
        '<span><i class="swatch" style="background:#2f6fdf"></i> delivered</span>'
        '<span><i class="swatch" style="background:#2a9d57"></i> opened</span>'
        '<span><i class="swatch" style="background:#e08a1e"></i> clicked</span></p>'
    )
    links = "".join(
        f"<tr><td>{escape(link.url)}</td><td>{escape(link.step_id)}</td>"
        + _cell(link.clicks, "link_clicks", url=link.url) + "</tr>"
        for link in report.links
    )  # fmt: skip
    body = (
        f"<section><h2>Funnel</h2>{legend}{charts.funnel(report.steps)}{_funnel_table(report)}</section>"
        f"<section><h2>Rates over time (open, click)</h2>{charts.rates_over_time(report.days)}</section>"
        f"{_ab_section(ab)}"
        f"{_lifecycle_section(lifecycle)}"
        f"<section><h2>Top clicked links</h2><table><tr><th>link</th><th>step</th><th>clicks</th></tr>{links}</table>"
        "</section>"
        f'<section><h2>Revenue</h2><p data-metric="revenue">{_money(report.summary.revenue)}</p></section>'
    )
    return _page(f"Flow {flow_id}", workspace, body)
