"""The dashboard's broadcasts: a list on the overview and a page per broadcast with its report."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.scheduler.adapters.broadcasts import broadcasts
from services.scheduler.analytics.domain.broadcast_report import BroadcastReport
from services.scheduler.analytics.usecases.broadcast_report import broadcast_report
from services.scheduler.api.dashboard import _cell, _money, _page, _pool, _workspace_or_login

router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)
_COUNTS = ("sent", "delivered", "opened", "clicked", "machine_opened", "machine_clicked", "bounced", "unsubscribed")


@router.get("/broadcasts", response_class=HTMLResponse, response_model=None)
async def broadcasts_page(request: Request) -> HTMLResponse | RedirectResponse:
    """The workspace's latest broadcasts, each linking to its report."""
    workspace = await _workspace_or_login(request)
    if isinstance(workspace, RedirectResponse):
        return workspace
    found = await broadcasts(_pool(request), workspace, 100)
    if not found:
        return _page("Broadcasts", workspace, '<p class="empty">No broadcast yet.</p>')
    rows = "".join(
        f'<tr><td><a href="/dashboard/broadcasts/{escape(b.spec.id)}">{escape(b.spec.id)}</a></td>'
        f"<td>{escape(b.spec.name)}</td>" + _cell(b.state, "state", broadcast=b.spec.id) + "</tr>"
        for b in found
    )  # fmt: skip
    table = f"<table><tr><th>broadcast</th><th>name</th><th>state</th></tr>{rows}</table>"
    return _page("Broadcasts", workspace, f"<section><h2>Broadcasts</h2>{table}</section>")


def _funnel(report: BroadcastReport) -> str:
    head = "".join(f"<th>{name.replace('_', ' ')}</th>" for name in _COUNTS)
    rows = "".join(
        f"<tr><td>{escape(v.variant)}</td>"
        + "".join(_cell(getattr(v.counts, name), name, variant=v.variant) for name in _COUNTS)
        + f"<td>{v.open_rate:.1%}</td><td>{v.click_rate:.1%}</td><td>{_money(v.revenue)}</td></tr>"
        for v in report.variants
    )  # fmt: skip
    return f"<table><tr><th>variant</th>{head}<th>open rate</th><th>click rate</th><th>revenue</th></tr>{rows}</table>"


def _decision(report: BroadcastReport) -> str:
    if report.decision is None:
        return ""
    why = escape(str(report.decision.get("why", "")))
    return f'<section><h2>Test</h2><p data-metric="winner">{escape(report.winner or "–")}</p><p>{why}</p></section>'


@router.get("/broadcasts/{broadcast_id}", response_class=HTMLResponse, response_model=None)
async def broadcast_page(request: Request, broadcast_id: str) -> HTMLResponse | RedirectResponse:
    workspace = await _workspace_or_login(request)
    if isinstance(workspace, RedirectResponse):
        return workspace
    report = await broadcast_report(_pool(request), workspace, broadcast_id)
    if report is None:
        return _page(broadcast_id, workspace, '<p class="empty">No such broadcast.</p>')
    c = report.counts
    links = "".join(
        f"<tr><td>{escape(link.url)}</td>" + _cell(link.clicks, "link_clicks", url=link.url)
        + f"<td>{link.clickers}</td></tr>"
        for link in report.links
    )  # fmt: skip
    body = (
        f"<section><h2>{escape(report.name)} ({escape(report.state)})</h2>"
        f"<p>{c.delivered} delivered, {report.open_rate:.1%} opened, {report.click_rate:.1%} clicked, "
        f"{report.unsubscribe_rate:.1%} unsubscribed</p>{_funnel(report)}</section>"
        f"{_decision(report)}"
        f"<section><h2>Top clicked links</h2><table><tr><th>link</th><th>clicks</th><th>clickers</th></tr>{links}"
        "</table></section>"
        f'<section><h2>Revenue</h2><p data-metric="orders">{report.orders}</p>'
        f'<p data-metric="revenue">{_money(report.revenue)}</p></section>'
    )
    return _page(f"Broadcast {broadcast_id}", workspace, body)
