"""A broadcast's engagement on the real stack: a click on the delivered newsletter is on the engagement topic with
the broadcast's id, starts the follow-up flow that waits for it (its email arrives), and the broadcast's report
counts it with the link, the opens and the purchase it earned."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dripline.report_cli import report_app
from shared.contract.topics import ENGAGEMENT, MESSAGES_STATUS
from tests.integration.sender.conftest import eventually
from tests.integration.test_broadcasts import filled, publish_template, scheduler_json, segment_of, sign_up
from tests.support.stack import RealStack
from tests.support.system import System, link, running_system, single_opt_in_workspace
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

FLOW = """
id: after-sale-{run}
name: After the spring sale
triggers:
  - type: event
    event: message_clicked
    where: 'event.broadcast_id == "sale-{run}"'
steps:
  - {{id: thanks, type: send, template: thanks-{run}}}
"""
READER = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird"}
SCANNER_SECONDS = timedelta(seconds=10.5)  # the tracker takes a click sooner than 10 s after delivery for a scanner


@pytest.fixture(scope="module")
async def system(stack: RealStack) -> AsyncIterator[System]:
    async with running_system(stack, "bengage") as running:
        yield running


async def report_of(system: System, broadcast_id: str) -> dict[str, Any]:
    return await scheduler_json(system, f"/v1/reports/broadcasts/{broadcast_id}")


async def test_a_click_on_a_broadcast_carries_its_id_starts_the_flow_on_it_and_shows_in_its_report(
    system: System, stack: RealStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = uuid.uuid4().hex[:6]
    letter = "Everything in the garden shop is a fifth off until Sunday, from seeds to the big wheelbarrows. " * 30
    await publish_template(system, f"sale-{run}", f"Spring sale {run}", letter)
    await publish_template(system, f"thanks-{run}", f"Glad you looked {run}", "here is what else is on sale")
    published = await system.scheduler.post(
        "/v1/flows", content=FLOW.format(run=run), headers={"Content-Type": "application/yaml"}
    )
    assert published.status_code in (200, 201), published.text
    await segment_of(system, f"seg-{run}", f"sale-{run}")
    people: list[dict[str, Any]] = [{"email": f"s{i}.{run}@example.com", "tags": [f"sale-{run}"]} for i in range(3)]
    clicker, opener, idle = (person["email"] for person in people)
    await sign_up(system, [dict(person) for person in people])
    await filled(system, f"seg-{run}", 3)
    body = {"id": f"sale-{run}", "name": "Spring sale", "templates": [f"sale-{run}"],
            "audience": {"kind": "segment", "segment": f"seg-{run}"}, "schedule": {"kind": "now"}}  # fmt: skip
    assert (await system.scheduler.post("/v1/broadcasts", json=body)).status_code == 201
    assert (await system.scheduler.post(f"/v1/broadcasts/sale-{run}/schedule", json={})).status_code == 200

    async def delivered() -> bool:
        return all(system.sender.mails_to(person["email"]) for person in people)

    await eventually(delivered, timeout=60, what="the sale's newsletters")
    [clicked_mail] = system.sender.mails_to(clicker)
    [opened_mail] = system.sender.mails_to(opener)
    # Analysts see the broadcast on the status topic...
    statuses = await read_topic(
        system.stack, MESSAGES_STATUS, count=3, where=lambda r: r.get("broadcast_id") == f"sale-{run}"
    )
    contacts = {r["contact_id"] for r in statuses}
    assert len(contacts) == 3 and {r["status"] for r in statuses} == {"sent"}
    async with httpx.AsyncClient(headers=READER) as reader:
        assert (await reader.get(link(opened_mail, "o"))).status_code == 200
        # A person reads before clicking: a click within seconds of delivery is a link scanner's.
        await asyncio.sleep(max(0.0, (clicked_mail.received_at + SCANNER_SECONDS - datetime.now(UTC)).total_seconds()))
        assert (await reader.get(link(clicked_mail, "c"), follow_redirects=False)).status_code in (302, 303, 307)

    # ...and on the engagement topic, with the flows' fields empty.
    engaged = await read_topic(
        system.stack, ENGAGEMENT, count=2, where=lambda r: r["contact_id"] in contacts and not r["machine"]
    )
    assert {(r["kind"], r["broadcast_id"], r["flow_id"]) for r in engaged} == {
        ("clicked", f"sale-{run}", None),
        ("opened", f"sale-{run}", None),
    }

    # The follow-up flow's email reaches the clicker: the flow started on the broadcast's click.
    async def followed_up() -> bool:
        return any(mail.subject == f"Glad you looked {run}" for mail in system.sender.mails_to(clicker))

    await eventually(followed_up, timeout=60, what="the follow-up flow's email")
    assert [mail.subject for mail in system.sender.mails_to(opener)] == [f"Spring sale {run}"]
    assert [mail.subject for mail in system.sender.mails_to(idle)] == [f"Spring sale {run}"]

    # The clicker buys: the purchase is credited to the broadcast.
    purchase = {"type": "purchase", "contact": {"email": clicker}, "order_id": f"o-{run}", "revenue": "240.00",
                "currency": "EUR", "items": [{"product_id": "barrow", "quantity": 1, "price": "240.00"}]}  # fmt: skip
    assert (await system.ingest.post("/v1/events", json=purchase)).status_code == 202

    async def counted() -> dict[str, Any] | None:
        found = await report_of(system, f"sale-{run}")
        return found if found["orders"] == 1 and found["counts"]["clicked"] == 1 else None

    report = await eventually(counted, timeout=30, what="the broadcast's report")
    counts = report["counts"]
    assert (counts["requested"], counts["sent"], counts["delivered"], counts["opened"]) == (3, 3, 3, 1)
    [revenue] = report["revenue"]
    assert report["state"] == "sent" and (revenue["currency"], revenue["orders"]) == ("EUR", 1)
    assert Decimal(revenue["revenue"]) == Decimal("240.00")
    assert report["links"] == [{"url": f"https://example.com/sale-{run}", "clicks": 1, "clickers": 1}]
    assert [v["variant"] for v in report["variants"]] == [f"sale-{run}"]
    page = (await system.scheduler.get(f"/dashboard/broadcasts/sale-{run}")).text
    assert f'data-metric="clicked" data-variant="sale-{run}">1<' in page
    assert f'data-metric="link_clicks" data-url="https://example.com/sale-{run}">1<' in page
    assert f'href="/dashboard/broadcasts/sale-{run}"' in (await system.scheduler.get("/dashboard/broadcasts")).text

    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    shown = await asyncio.to_thread(
        CliRunner().invoke, report_app, ["broadcast", f"sale-{run}", "--workspace", system.workspace_id]
    )
    assert shown.exit_code == 0, shown.output
    assert f"https://example.com/sale-{run}" in shown.output and "240.00 EUR" in shown.output
    same = await asyncio.to_thread(
        CliRunner().invoke, report_app, ["--broadcast", f"sale-{run}", "--workspace", system.workspace_id]
    )
    assert same.exit_code == 0 and same.output == shown.output, same.output


async def test_a_broadcasts_report_is_its_workspaces_alone_and_refuses_a_bad_id(system: System) -> None:
    run = uuid.uuid4().hex[:6]
    await publish_template(system, f"mine-{run}", f"Mine {run}")
    await segment_of(system, f"seg-{run}", f"tag-{run}")
    body = {"id": f"mine-{run}", "name": "Mine", "templates": [f"mine-{run}"],
            "audience": {"kind": "segment", "segment": f"seg-{run}"}}  # fmt: skip
    assert (await system.scheduler.post("/v1/broadcasts", json=body)).status_code == 201
    assert (await report_of(system, f"mine-{run}"))["counts"]["requested"] == 0

    _, other_key = await single_opt_in_workspace(system.stack)
    other = {"X-Api-Key": other_key}
    answer = await system.scheduler.get(f"/v1/reports/broadcasts/mine-{run}", headers=other)
    assert answer.status_code == 404 and answer.json() == {"detail": f"no broadcast mine-{run}"}

    hostile = await system.scheduler.get("/v1/reports/broadcasts/Robert'); DROP TABLE broadcasts;--")
    assert hostile.status_code == 422
    assert hostile.json()["detail"][0]["loc"] == ["path", "broadcast_id"]
