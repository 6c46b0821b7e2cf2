"""Consent per channel on the real database: sign-ups grant each channel with its evidence, and the
migration turns every earlier grant of marketing into an email grant, never an SMS one."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from shared.consent import store as consent
from tests.support.stack import RealStack, own_database

pytestmark = pytest.mark.stack

WORDING = "Ja takk, send meg tilbud på SMS (høyst to i måneden)"


async def _rows(stack: RealStack, query: str, *args: object) -> list[tuple[object, ...]]:
    connection = await asyncpg.connect(stack.database_url)
    try:
        return [tuple(row) for row in await connection.fetch(query, *args)]
    finally:
        await connection.close()


async def test_a_signup_grants_each_channel_it_names_with_the_text_shown(
    shop: httpx.AsyncClient, stack: RealStack
) -> None:
    external_id = f"sms-{uuid.uuid4().hex[:10]}"
    body = {
        "type": "signup",
        "event_id": f"su-{uuid.uuid4().hex}",
        "contact": {"external_id": external_id, "phone": "+4791234567"},
        "consent": {"marketing": True, "channels": ["sms"], "text_shown": WORDING, "ip": "203.0.113.9"},
    }
    assert (await shop.post("/v1/events", json=body)).status_code == 202
    rows = await _rows(
        stack,
        "SELECT l.scope, l.source, l.ip, l.text_shown FROM consent_ledger l "
        "JOIN contacts c ON c.contact_id = l.contact_id AND c.workspace_id = l.workspace_id "
        "WHERE c.profile->>'external_id' = $1 ORDER BY l.scope",
        external_id,
    )
    assert rows == [
        ("*", "form", "203.0.113.0/24", WORDING),
        ("channel:sms", "form", "203.0.113.0/24", WORDING),
    ]
    subscriptions = await _rows(
        stack,
        "SELECT s.topic, s.status FROM contact_subscriptions s JOIN contacts c USING (workspace_id, contact_id) "
        "WHERE c.profile->>'external_id' = $1 ORDER BY s.topic",
        external_id,
    )
    assert subscriptions == [("*", "pending"), ("channel:sms", "pending")]  # no email grant


async def test_the_migration_makes_earlier_marketing_grants_email_grants_only(stack: RealStack) -> None:
    async with own_database(stack, "channels", "0012_privacy") as database:
        connection = database.connection
        await connection.execute(
            "INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) VALUES "
            "('shop', 'c-1', '*', 'subscribed'), ('shop', 'c-1', 'news', 'subscribed'), "
            "('shop', 'c-2', '*', 'unsubscribed')"
        )
        await connection.execute(
            "INSERT INTO consent_ledger (workspace_id, contact_id, action, scope, source, ip, policy_version, "
            "occurred_at, dedupe_key, origin) VALUES "
            "('shop', 'c-1', 'grant', '*', 'form', '198.51.100.0/24', '2025-01', '2025-02-03T10:00:00Z', 'e1:grant:*', "
            "'newsletter-form'), "
            "('shop', 'c-1', 'grant', 'news', 'form', NULL, NULL, '2025-02-03T10:00:00Z', 'e1:grant:news', NULL)"
        )
        await database.upgrade("0021_channel_consent")
        subscriptions = await connection.fetch(
            "SELECT contact_id, topic, status FROM contact_subscriptions ORDER BY contact_id, topic"
        )
        assert [tuple(r) for r in subscriptions] == [
            ("c-1", "*", "subscribed"),
            ("c-1", "channel:email", "subscribed"),
            ("c-1", "news", "subscribed"),
            ("c-2", "*", "unsubscribed"),
            ("c-2", "channel:email", "unsubscribed"),
        ]
        ledger = await connection.fetch(
            "SELECT scope, source, ip, policy_version, occurred_at::text, origin FROM consent_ledger ORDER BY id"
        )
        assert [tuple(r) for r in ledger][2] == (
            "channel:email",
            "form",
            "198.51.100.0/24",
            "2025-01",
            "2025-02-03 10:00:00+00",
            "newsletter-form",
        )
        assert len(ledger) == 3  # the topic's entry is not a channel grant
        await database.downgrade("0012_privacy")
        left = await connection.fetchval("SELECT count(*) FROM contact_subscriptions WHERE topic LIKE 'channel:%'")
        assert left == 0


PROMISE = {
    "text": {
        "en": "One newsletter a month, plus order updates",
        "nb": "Ett nyhetsbrev i måneden, pluss ordreoppdateringer",
    },
    "messages": 1,
    "days": 30,
}


async def test_a_topic_keeps_its_promise_and_is_warned_when_the_caps_allow_more(shop: httpx.AsyncClient) -> None:
    topic = f"monthly-{uuid.uuid4().hex[:6]}"
    put = await shop.put(f"/v1/topics/{topic}", json={"name": "Monthly letter", "promise": PROMISE})
    assert put.status_code == 200, put.text
    # shop-one runs the default policy: three marketing emails a day
    assert put.json()["warnings"] == [
        "the frequency caps allow 90 marketing emails in 30 days, more than the 1 in 30 days promised"
    ]
    [listed] = [t for t in (await shop.get("/v1/topics")).json() if t["topic"] == topic]
    assert listed["promise"] == PROMISE and listed["warnings"] == put.json()["warnings"]
    bad = await shop.put(f"/v1/topics/{topic}", json={"name": "Monthly", "promise": {**PROMISE, "days": 0}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "$.promise.days"


async def test_a_promise_given_only_as_text_is_read_and_one_that_cannot_be_is_named(shop: httpx.AsyncClient) -> None:
    weekly, vague = f"weekly-{uuid.uuid4().hex[:6]}", f"vague-{uuid.uuid4().hex[:6]}"
    promise = {"text": {"nb": "Opptil to e-poster i uka"}}
    put = await shop.put(f"/v1/topics/{weekly}", json={"name": "Weekly", "promise": promise})
    assert put.status_code == 200, put.text
    assert put.json()["warnings"] == [
        "the frequency caps allow 21 marketing emails in 7 days, more than the 2 in 7 days promised"
    ]
    put = await shop.put(
        f"/v1/topics/{vague}", json={"name": "Now and then", "promise": {"text": {"en": "Now and then"}}}
    )
    [warning] = put.json()["warnings"]
    assert warning.startswith("the promise 'Now and then' does not say how many emails in how many days")
    half = await shop.put(f"/v1/topics/{vague}", json={"name": "Half", "promise": {**promise, "messages": 2}})
    assert half.status_code == 422 and "both messages and days" in half.text


async def test_a_channel_is_granted_and_withdrawn_by_api_and_is_no_topic(
    shop: httpx.AsyncClient, stack: RealStack
) -> None:
    contact_id = (await shop.post("/v1/contacts", json={"phone": "+4790000001"})).json()["contact_id"]
    answer = await shop.put(
        f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {"*": True, "channel:sms": True}}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"*": "subscribed", "channel:sms": "subscribed"}
    fax = await shop.put(f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {"channel:fax": True}})
    assert fax.status_code == 422
    ledger = await _rows(
        stack, "SELECT action, scope, source FROM consent_ledger WHERE contact_id = $1 ORDER BY id", contact_id
    )
    assert ledger == [("grant", "*", "api"), ("grant", "channel:sms", "api")]
    topics = [t["topic"] for t in (await shop.get("/v1/topics")).json()]
    assert not [t for t in topics if t.startswith("channel:")]


async def test_the_contact_api_shows_each_channel_grant_with_the_text_shown(shop: httpx.AsyncClient) -> None:
    external_id = f"api-{uuid.uuid4().hex[:10]}"
    body = {
        "type": "signup",
        "event_id": f"su-{uuid.uuid4().hex}",
        "contact": {"external_id": external_id, "email": f"{external_id}@example.com"},
        "consent": {"marketing": True, "channels": ["email", "post"], "text_shown": WORDING},
    }
    assert (await shop.post("/v1/events", json=body)).status_code == 202
    identified = await shop.post("/v1/contacts", json={"external_id": external_id})
    contact = await shop.get(f"/v1/contacts/{identified.json()['contact_id']}")
    history = [(entry["scope"], entry["text_shown"]) for entry in contact.json()["consent_history"]]
    assert sorted(history) == [("*", WORDING), ("channel:email", WORDING), ("channel:post", WORDING)]


async def test_the_consent_report_counts_contacts_by_channel(stack: RealStack) -> None:
    workspace = f"report-{uuid.uuid4().hex[:6]}"
    rows = [
        ("c-1", "*", "subscribed"),  # a plain consent: email
        ("c-2", "*", "subscribed"),
        ("c-2", "channel:email", "unsubscribed"),
        ("c-2", "channel:sms", "subscribed"),
        ("c-3", "*", "pending"),
        ("c-3", "channel:email", "pending"),
        ("c-3", "channel:post", "pending"),
    ]
    connection = await asyncpg.connect(stack.database_url)
    try:
        await connection.executemany(
            "INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) VALUES ($1, $2, $3, $4)",
            [(workspace, *row) for row in rows],
        )
        counts = await consent.channel_counts(connection, workspace)
    finally:
        await connection.close()
    assert counts == {
        "email": {"subscribed": 1, "unsubscribed": 1, "pending": 1},
        "sms": {"subscribed": 1},
        "post": {"pending": 1},
    }
