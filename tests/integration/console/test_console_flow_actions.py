"""A flow's page on the real stack: an editor migrates the people still in an older version to the live one
behind a confirmation that says how many would move (audited, as the API's migrate is), and the map shows
who the sending policy holds at a send now."""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest

from shared.contract.topics import AUDIT
from tests.integration.scheduler.conftest import publish
from tests.integration.sender.conftest import eventually
from tests.support.topics import read_topic

from .conftest import FLOW, FLOW_ID, PEOPLE, ConsoleShop, Visitor

pytestmark = pytest.mark.stack


async def test_an_editor_migrates_everyone_to_the_live_version_and_a_viewer_cannot(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop, api = console_shop, console_shop.system.scheduler
    await publish(api, FLOW.replace("name: Console welcome", "name: Console welcome, second"))
    assert (await api.get(f"/v1/flows/{FLOW_ID}")).json()["live_enrollments"] == {"1": PEOPLE}

    viewer = Visitor(shop.url)
    try:
        await viewer.sign_in(*shop.passwords["viewer"])
        assert "Migrate to v2…" not in (await viewer.get(f"/console/flows/{FLOW_ID}")).text
        refused = await viewer.post(f"/console/flows/{FLOW_ID}/migrate", {"csrf": await viewer.csrf()})
        assert refused.status_code == 403 and "your role (viewer) may not migrate flows" in refused.text
    finally:
        await viewer.close()

    await visitor.sign_in(*shop.passwords["editor"])
    assert "Migrate to v2…" in (await visitor.get(f"/console/flows/{FLOW_ID}")).text
    confirm = await visitor.get(f"/console/flows/{FLOW_ID}/migrate")
    assert confirm.status_code == 200 and f"In older versions now: v1: {PEOPLE}." in confirm.text
    done = await visitor.post(f"/console/flows/{FLOW_ID}/migrate", {"csrf": await visitor.csrf()})
    assert (
        done.status_code == 303 and done.headers["location"] == f"/console/flows/{FLOW_ID}?done=migrated&moved={PEOPLE}"
    )
    assert (await api.get(f"/v1/flows/{FLOW_ID}")).json()["live_enrollments"] == {"2": PEOPLE}
    page = await visitor.get(f"/console/flows/{FLOW_ID}", done="migrated", moved=str(PEOPLE))
    assert f"The flow was migrated: {PEOPLE} contacts moved to v2." in page.text

    pool: asyncpg.Pool = shop.system.scheduler_app.state.resources.pool
    editor_id = await pool.fetchval("SELECT id FROM console_users WHERE email = $1", shop.passwords["editor"][0])
    assert (await api.post(f"/v1/flows/{FLOW_ID}/migrate")).json()["migrated"] == 0
    records = await read_topic(shop.system.stack, AUDIT, count=2, where=lambda r: r["action"] == "flow.migrated")
    assert {(r["actor"].split(":")[0], r["via"], r["detail"]["migrated"]) for r in records} == {
        ("user", "console", str(PEOPLE)),
        ("key", "api", "0"),
    }
    assert f"user:{editor_id}" in {r["actor"] for r in records}


async def test_the_map_shows_who_the_sending_policy_holds_at_a_send_now(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop, api = console_shop, console_shop.system.scheduler
    assert (await api.put("/v1/policy", json={"grace_after_signup": "3h"})).status_code == 200
    emails = [f"held.{n}.{uuid.uuid4().hex[:6]}@example.com" for n in range(2)]
    for email in emails:
        signup = {"type": "signup", "contact": {"email": email}, "consent": {"marketing": True}}
        assert (await shop.system.ingest.post("/v1/events", json=signup)).status_code == 202
    await visitor.sign_in(*shop.passwords["viewer"])

    async def held_two() -> bool:
        page = (await visitor.get(f"/console/flows/{FLOW_ID}")).text
        return 'data-metric="held_now" data-step="hello">2<' in page

    await eventually(held_two, timeout=30, what="both sign-ups held at the welcome by the 3h grace")
    page = (await visitor.get(f"/console/flows/{FLOW_ID}")).text
    assert 'data-metric="held_now" data-step="nudge">0<' in page and "data-held-none" in page


async def test_the_segments_page_shows_each_condition_with_the_apis_live_count(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    api = console_shop.system.scheduler
    ada = 'contact.first_name.startsWith("Ada")'
    for segment in (
        {"id": "adas", "name": "Adas", "condition": ada},
        {"id": "nobody", "name": "Nobody", "condition": "false"},
    ):
        assert (await api.post("/v1/segments", json=segment)).status_code == 201

    async def counted() -> dict[str, int] | None:
        found = {s["id"]: s["members"] for s in (await api.get("/v1/segments")).json()}
        return found if found.get("adas") == PEOPLE else None

    counts = await eventually(counted, timeout=30, what="every Ada in the segment")
    await visitor.sign_in(*console_shop.passwords["viewer"])
    page = (await visitor.get("/console/segments")).text
    for segment_id, members in counts.items():
        assert f'<tr data-segment="{segment_id}">' in page
        assert re.search(rf'data-segment="{segment_id}">.*?data-metric="members">{members}<', page, re.S)
    assert "startsWith(&#34;Ada&#34;)" in page  # the condition, escaped


async def test_a_purchase_counts_as_a_conversion_of_its_goal_on_the_flows_page(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop = console_shop
    purchase = {"type": "purchase", "contact": {"email": shop.emails[0]}, "order_id": f"o-{uuid.uuid4().hex[:8]}",
                "items": [{"product_id": "p1", "name": "Tea", "quantity": 1, "price": "9.00"}],
                "revenue": "9.00", "currency": "EUR"}  # fmt: skip
    assert (await shop.system.ingest.post("/v1/events", json=purchase)).status_code == 202
    await visitor.sign_in(*shop.passwords["viewer"])

    async def converted() -> bool:
        page = (await visitor.get(f"/console/flows/{FLOW_ID}")).text
        return bool(re.search(r'data-goal="bought">.*?data-metric="converted">1<', page, re.S))

    await eventually(converted, timeout=30, what="the purchase converting on the goal 'bought'")

    async def reported() -> int | None:  # the report reads the analytics fold, which may lag the live page
        reached = (await shop.report())["summary"]["counts"]["goal_reached"]
        return reached or None

    assert await eventually(reported, timeout=30, what="the report counting the goal") == 1

    # The buyer's page lists their customer facts as flows and templates read them.
    found = await visitor.get("/console/people", q=shop.emails[0])

    async def counted() -> str | None:
        page = (await visitor.get(found.headers["location"])).text
        return page if 'data-fact="order_count">1<' in page else None

    person = await eventually(counted, timeout=15, what="the order in the buyer's facts")
    assert 'data-fact="total_spent.EUR">9.00, on average 9.00 an order<' in person
    assert 'data-fact="last_order_products">Tea<' in person and 'data-fact="last_purchase_at">' in person
    assert 'data-fact="messages_last_30d">1<' in person  # the welcome
