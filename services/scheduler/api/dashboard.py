"""A read-only dashboard for marketers: server-rendered HTML with inline SVG charts, no scripts.

Sign in once with the workspace API key (kept in an HttpOnly cookie), or send it as a header.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from pathlib import Path
from string import Template
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials

from services.scheduler.analytics import charts
from services.scheduler.analytics.models import AbReport, FlowReport, Revenue
from services.scheduler.analytics.reports import ab_report, flow_report, flows_report
from shared.api_auth import _bearer, _header, workspace_of

router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)
PAGE = Template((Path(__file__).resolve().parents[1] / "analytics" / "dashboard.html").read_text(encoding="utf-8"))
COOKIE = "dripline_key"
LOGIN = """<section><form method="post" action="/dashboard/login">
<label>Workspace API key <input name="key" type="password" autocomplete="off"></label>
<button type="submit">Sign in</button></form></section>"""


async def _workspace_or_login(request: Request) -> str | RedirectResponse:
    """The key from a header, else from the sign-in cookie; without a valid one, the sign-in page."""
    bearer, header = await _bearer(request), await _header(request)
    cookie = request.cookies.get(COOKIE)
    if bearer is None and header is None and cookie:
        bearer = HTTPAuthorizationCredentials(scheme="Bearer", credentials=cookie)
    try:
        return await workspace_of(request, bearer, header)
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
    return _page("Flows", workspace, table if rows else '<p class="empty">No flow has data yet.</p>')


def _funnel_table(report: FlowReport) -> str:
    head = "".join(f"<th>{n}</th>" for n in ("step", "reached", "delivered", "opened", "clicked", "machine opens",
                                               "machine clicks", "bounced", "unsubscribed", "open rate", "click rate",
                                               "revenue"))  # fmt: skip
    rows = []
    for step in report.steps:
        c, key = step.counts, {"step": step.step_id}
        rows.append(
            f"<tr><td>{escape(step.step_id)}</td>" + _cell(c.reached, "reached", **key)
            + _cell(c.delivered, "delivered", **key) + _cell(c.opened, "opened", **key)
            + _cell(c.clicked, "clicked", **key) + _cell(c.machine_opened, "machine_opened", **key)
            + _cell(c.machine_clicked, "machine_clicked", **key) + _cell(c.bounced, "bounced", **key)
            + _cell(c.unsubscribed, "unsubscribed", **key) + _cell(f"{step.open_rate:.1%}", "open_rate", **key)
            + _cell(f"{step.click_rate:.1%}", "click_rate", **key) + f"<td>{_money(step.revenue)}</td></tr>"
        )  # fmt: skip
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


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


@router.get("/flows/{flow_id}", response_class=HTMLResponse, response_model=None)
async def flow_page(request: Request, flow_id: str) -> HTMLResponse | RedirectResponse:
    workspace = await _workspace_or_login(request)
    if isinstance(workspace, RedirectResponse):
        return workspace
    report = await flow_report(_pool(request), workspace, flow_id)
    if report is None:
        return _page(flow_id, workspace, '<p class="empty">No data for this flow yet.</p>')
    ab = await ab_report(_pool(request), workspace, flow_id)
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
        f"<section><h2>Top clicked links</h2><table><tr><th>link</th><th>step</th><th>clicks</th></tr>{links}</table>"
        "</section>"
        f'<section><h2>Revenue</h2><p data-metric="revenue">{_money(report.summary.revenue)}</p></section>'
    )
    return _page(f"Flow {flow_id}", workspace, body)
