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
    assert {"topic": "offers", "name": "Offers", "description": "Twice a month"} in topics

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


async def test_an_unknown_topic_is_named(shop: httpx.AsyncClient) -> None:
    contact_id = (await shop.post("/v1/contacts", json={"external_id": "t-1"})).json()["contact_id"]
    answer = await shop.put(f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {"gossip": True}})
    assert answer.status_code == 422
    assert "$.subscriptions.gossip" in answer.text
