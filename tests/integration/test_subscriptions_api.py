"""Subscription topics and a contact's choices through the API, each change in the consent ledger."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from shared.contract.topics import ENGAGEMENT
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def test_topics_and_subscription_changes_are_recorded_with_their_source(
    shop: httpx.AsyncClient, stack: RealStack
) -> None:
    assert (
        await shop.put("/v1/topics/offers", json={"name": "Offers", "description": "Twice a month"})
    ).status_code == 200
    assert (await shop.put("/v1/topics/newsletter", json={"name": "Newsletter"})).status_code == 200
    topics = (await shop.get("/v1/topics")).json()
    assert {
        "topic": "offers",
        "name": "Offers",
        "description": "Twice a month",
        "promise": None,
        "warnings": [],
    } in topics

    email = f"{uuid.uuid4().hex[:8]}@example.com"
    contact_id = (await shop.post("/v1/contacts", json={"email": email})).json()["contact_id"]
    answer = await shop.put(
        f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {"offers": False, "newsletter": True}}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"offers": "unsubscribed", "newsletter": "subscribed"}

    everything = await shop.put(f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {"*": False}})
    assert everything.json() == {"*": "unsubscribed"}
    notices = await read_topic(stack, ENGAGEMENT, count=2, where=lambda r: r.get("contact_id") == contact_id)
    assert [notice["kind"] for notice in notices] == ["preferences_changed", "unsubscribed"]

    connection = await asyncpg.connect(stack.database_url)
    try:
        ledger = await connection.fetch(
            "SELECT action, scope, source FROM consent_ledger WHERE contact_id = $1 ORDER BY id", contact_id
        )
        suppressed = await connection.fetchval(
            "SELECT count(*) FROM suppressions WHERE workspace_id = 'shop-one' AND scope = 'marketing' "
            "AND source = 'api'"
        )
    finally:
        await connection.close()
    assert [tuple(row) for row in ledger] == [
        ("withdraw", "offers", "api"),
        ("grant", "newsletter", "api"),
        ("withdraw", "*", "api"),
    ]
    assert suppressed >= 1


async def test_a_topic_not_offered_yet_is_created_by_a_sign_up_and_by_a_subscription_change_alike(
    shop: httpx.AsyncClient,
) -> None:
    first, second = f"gossip-{uuid.uuid4().hex[:6]}", f"rumours-{uuid.uuid4().hex[:6]}"
    signup = {
        "type": "signup",
        "contact": {"email": f"{uuid.uuid4().hex[:8]}@example.com"},
        "consent": {"marketing": True, "topics": [first]},
    }
    assert (await shop.post("/v1/events", json=signup)).status_code == 202
    contact_id = (await shop.post("/v1/contacts", json={"external_id": "t-1"})).json()["contact_id"]
    answer = await shop.put(f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {second: True}})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {second: "subscribed"}
    offered = {topic["topic"]: topic for topic in (await shop.get("/v1/topics")).json()}
    assert offered[first] == {"topic": first, "name": first, "description": None, "promise": None, "warnings": []}
    assert offered[second] == {"topic": second, "name": second, "description": None, "promise": None, "warnings": []}
    renamed = await shop.put(f"/v1/topics/{second}", json={"name": "Rumours"})
    assert renamed.status_code == 200
    again = await shop.put(f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {second: False}})
    assert again.status_code == 200
    offered = {topic["topic"]: topic for topic in (await shop.get("/v1/topics")).json()}
    assert offered[second]["name"] == "Rumours"  # a later change keeps the name given


async def test_a_subscription_change_for_an_unknown_contact_is_404(shop: httpx.AsyncClient) -> None:
    answer = await shop.put("/v1/contacts/nobody-here/subscriptions", json={"subscriptions": {"news": True}})
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["path"] == "path.contact_id"
