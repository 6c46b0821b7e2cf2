"""The lifecycle report of a flow, from purchases posted to ingest and entries the scheduler made: repeat
buyers and the time to a second purchase, and the customers who bought again after entering."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from dripline import report_cli
from tests.integration.scheduler.conftest import Shop, new_workspace, publish
from tests.integration.sender.conftest import eventually

pytestmark = pytest.mark.stack

FLOW = """
id: come-back
name: Come back
triggers:
  - type: api
steps:
  - id: a-month
    type: wait
    duration: 30d
"""


async def _customer(shop: Shop, name: str, *days_ago: int) -> tuple[str, str]:
    """A contact with a purchase that many days ago each: their address and contact id."""
    email = f"{name}.{uuid.uuid4().hex[:8]}@example.com"
    await shop.signup(email)
    for n, days in enumerate(days_ago):
        await _purchase(shop, email, f"{name}-{n}", datetime.now(UTC) - timedelta(days=days))
    identified = await shop.ingest.post("/v1/contacts", json={"email": email})
    return email, str(identified.json()["contact_id"])


async def _purchase(shop: Shop, email: str, order: str, at: datetime) -> None:
    await shop.event({
        "type": "purchase", "contact": {"email": email}, "order_id": order, "revenue": "100", "currency": "NOK",
        "occurred_at": at.isoformat(),
    })  # fmt: skip


async def test_repeat_buyers_time_to_second_purchase_and_customers_won_back(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    kari_email, kari = await _customer(shop, "kari", 30, 28)  # two days between her first and second orders
    _, liv = await _customer(shop, "liv", 10, 4)  # six days between
    _, ola = await _customer(shop, "ola", 40)  # one order
    _, per = await _customer(shop, "per")  # none
    async with shop.scheduler() as scheduler:
        await publish(scheduler, FLOW)
        for contact in (kari, liv, ola, per):
            body = {"flow_id": "come-back", "contact_id": contact, "event_id": f"enter-{contact}"}
            assert (await scheduler.post("/v1/enrollments", json=body)).json()["entered"] is True

        async def report(reactivated: int) -> dict[str, Any] | None:
            answer = await scheduler.get("/v1/reports/flows/come-back/lifecycle")
            if answer.status_code != 200:
                return None
            body: dict[str, Any] = answer.json()
            won, repeat = body["reactivation"], sum(c["repeat_buyers"] for c in body["cohorts"])
            seen = (won["entered"], won["customers_at_entry"], repeat, won["reactivated"])
            return body if seen == (4, 3, 2, reactivated) else None  # every entry and order folded

        before = await eventually(lambda: report(0), timeout=20, what="the entries and orders in the report")
        assert before["reactivation"] == {
            "entered": 4, "customers_at_entry": 3, "reactivated": 0, "reactivated_share": 0.0,
        }  # fmt: skip
        assert before["median_hours_to_second_purchase"] == pytest.approx(96)  # the median of 48 h and 144 h
        assert before["repeat_rate"] == pytest.approx(2 / 3)  # Kari and Liv of the three buyers
        assert sum(c["contacts"] for c in before["cohorts"]) == 4
        assert before["codes"] == []

        await _purchase(shop, kari_email, "kari-back", datetime.now(UTC))  # Kari buys again after entering
        after = await eventually(lambda: report(1), timeout=20, what="Kari's purchase in the report")
        assert after["reactivation"]["reactivated_share"] == pytest.approx(1 / 3)
        assert after["median_hours_to_second_purchase"] == pytest.approx(96)  # her second order is as it was
        # Another workspace's key sees none of it: to its flows, nobody has entered come-back.
        _, other_key = await new_workspace(shop.stack)
        other = {"Authorization": f"Bearer {other_key}"}
        theirs = await scheduler.get("/v1/reports/flows/come-back/lifecycle", headers=other)
        assert (theirs.status_code, theirs.json()["detail"]) == (404, "nobody has entered flow come-back")
        page = (await scheduler.get("/dashboard/flows/come-back")).text
        assert "66.7% of buyers bought again; median time to a second purchase: 96.0 h" in page
        assert "1 of 3 customers at entry bought after entering (33.3%)" in page

    monkeypatch.setenv("DATABASE_URL", shop.stack.database_url)
    monkeypatch.setattr(report_cli, "console", Console(width=200))
    args = ["lifecycle", "come-back", "--workspace", shop.workspace_id]
    result = await asyncio.to_thread(CliRunner().invoke, report_cli.report_app, args)
    assert result.exit_code == 0, result.output
    assert "repeat rate 66.7%, median time to a second purchase 96.0 h" in result.output
    assert "won back: 1 of 3 customers at entry (33.3%), of 4 entered" in result.output


async def test_the_lifecycle_report_names_a_bad_flow_id_and_knows_no_flow_nobody_entered(shop: Shop) -> None:
    async with shop.scheduler() as scheduler:
        bad = await scheduler.get("/v1/reports/flows/%20no%20such!/lifecycle")
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "flow_id"], bad.text
        missing = await scheduler.get("/v1/reports/flows/never-entered/lifecycle")
        assert (missing.status_code, missing.json()["detail"]) == (404, "nobody has entered flow never-entered")
