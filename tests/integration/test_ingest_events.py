"""Through HTTP against the real broker and database: what a shop posts lands on the topics."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.ingest.domain.requests import EXAMPLES
from shared.contract.topics import CARTS, CONTACTS, EVENTS, PURCHASES, SIGNUPS, Topic
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

EVENT_TOPICS: dict[str, Topic] = {
    "signup": SIGNUPS,
    "purchase": PURCHASES,
    "cart_updated": CARTS,
    "checkout_started": CARTS,
    "cart_abandoned": CARTS,
    "form_submitted": EVENTS,
    "product_viewed": EVENTS,
    "document_downloaded": EVENTS,
    "track": EVENTS,
}


def event_of(event_type: str, **extra: Any) -> dict[str, Any]:
    base = EXAMPLES.get(event_type) or {**EXAMPLES["form_submitted"], "type": event_type}
    body = {key: value for key, value in base.items() if key != "event_id"}
    if event_type in ("cart_updated", "checkout_started"):
        body = {**EXAMPLES["cart_abandoned"], "type": event_type}
    body["contact"] = {"email": f"{uuid.uuid4().hex[:10]}@example.com"}
    return {**body, **extra}


@pytest.mark.parametrize("event_type", sorted(EVENT_TOPICS))
async def test_each_event_type_lands_on_its_topic_with_the_documented_schema(
    shop: httpx.AsyncClient, stack: RealStack, event_type: str
) -> None:
    response = await shop.post("/v1/events", json=event_of(event_type))
    assert response.status_code == 202, response.text
    event_id = response.json()["event_id"]

    topic = EVENT_TOPICS[event_type]
    [record] = await read_topic(stack, topic, count=1, where=lambda r: r.get("event_id") == event_id)
    assert record["type"] == event_type
    assert record["workspace_id"] == "shop-one"
    assert record["__key__"] == record["contact_id"]
    assert record["schema_version"] == 1
    assert "email" not in record and "contact" not in record
    topic.adapter().validate_python({k: v for k, v in record.items() if not k.startswith("__")})


async def test_personal_data_travels_on_contact_changes_only(shop: httpx.AsyncClient, stack: RealStack) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    body = event_of("signup")
    body["contact"] = {"email": email, "first_name": "Kari", "timezone": "Europe/Oslo"}
    response = await shop.post("/v1/events", json=body)
    assert response.status_code == 202

    [signup] = await read_topic(stack, SIGNUPS, count=1, where=lambda r: r["event_id"] == response.json()["event_id"])
    [profile] = await read_topic(stack, CONTACTS, count=1, where=lambda r: r.get("email") == email)
    assert profile["contact_id"] == signup["contact_id"] and profile["__key__"] == f"shop-one/{profile['contact_id']}"
    assert profile["first_name"] == "Kari" and profile["timezone"] == "Europe/Oslo"


async def test_the_same_person_keeps_one_contact_id_across_events(shop: httpx.AsyncClient, stack: RealStack) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    first = await shop.post("/v1/events", json={**event_of("signup"), "contact": {"email": email.upper()}})
    second = await shop.post("/v1/events", json={**event_of("purchase"), "contact": {"email": email}})
    ids = {first.json()["event_id"], second.json()["event_id"]}
    signups = await read_topic(stack, SIGNUPS, count=1, where=lambda r: r["event_id"] in ids)
    purchases = await read_topic(stack, PURCHASES, count=1, where=lambda r: r["event_id"] in ids)
    assert signups[0]["contact_id"] == purchases[0]["contact_id"]


async def test_a_malformed_event_gets_422_naming_the_field(shop: httpx.AsyncClient) -> None:
    body = event_of("purchase", revenue="-3", currency="kroner")
    body["items"] = [{"product_id": "p1", "quantity": 0}]
    response = await shop.post("/v1/events", json=body)
    assert response.status_code == 422
    paths = {error["path"]: error["reason"] for error in response.json()["errors"]}
    assert set(paths) == {"$.revenue", "$.currency", "$.items[0].quantity"}
    assert "greater than or equal to 0" in paths["$.revenue"]


async def test_an_unknown_event_type_is_named(shop: httpx.AsyncClient) -> None:
    response = await shop.post("/v1/events", json={"type": "teleported", "contact": {"email": "a@example.com"}})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["path"] == "$.type" and "teleported" in error["reason"]


async def test_an_event_without_a_contact_identifier_is_rejected(shop: httpx.AsyncClient) -> None:
    response = await shop.post("/v1/events", json={"type": "signup", "contact": {"first_name": "Nobody"}})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["path"] == "$.contact" and "email" in error["reason"]


async def test_a_naive_timestamp_is_rejected(shop: httpx.AsyncClient) -> None:
    response = await shop.post("/v1/events", json=event_of("signup", occurred_at="2026-11-25T10:00:00"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "$.occurred_at"


async def test_a_retried_event_keeps_its_id_so_consumers_can_drop_the_repeat(
    shop: httpx.AsyncClient, stack: RealStack
) -> None:
    event_id = f"order-{uuid.uuid4().hex}"
    body = event_of("purchase", event_id=event_id)
    answers = [await shop.post("/v1/events", json=body) for _ in range(2)]
    assert [answer.json()["event_id"] for answer in answers] == [event_id, event_id]

    records = await read_topic(stack, PURCHASES, count=2, where=lambda r: r["event_id"] == event_id)
    assert len(records) == 2
    assert {record["event_id"] for record in records} == {event_id}
    assert records[0]["contact_id"] == records[1]["contact_id"]


async def test_missing_and_wrong_api_keys_are_refused(ingest_url: str) -> None:
    async with httpx.AsyncClient(base_url=ingest_url) as anonymous:
        missing = await anonymous.post("/v1/events", json=event_of("signup"))
        wrong = await anonymous.post(
            "/v1/events", json=event_of("signup"), headers={"Authorization": "Bearer dl_not_a_key"}
        )
    assert missing.status_code == 401
    assert wrong.status_code == 401


async def test_a_revoked_key_gets_403(ingest_url: str, stack: RealStack) -> None:
    import asyncpg

    from shared.workspaces import create_key, revoke_key

    connection = await asyncpg.connect(stack.database_url)
    try:
        key = await create_key(connection, "shop-one", "to revoke")
        key_id = await connection.fetchval("SELECT id FROM api_keys WHERE name = 'to revoke'")
        await revoke_key(connection, key_id)
    finally:
        await connection.close()
    async with httpx.AsyncClient(base_url=ingest_url, headers={"X-Api-Key": key}) as client:
        response = await client.post("/v1/events", json=event_of("signup"))
    assert response.status_code == 403


async def test_an_oversize_body_gets_413(shop: httpx.AsyncClient) -> None:
    body = event_of("track", name="huge", properties={"blob": "x" * 2_100_000})
    response = await shop.post("/v1/events", json=body)
    assert response.status_code == 413


async def test_the_api_docs_describe_every_event_type_with_an_example(shop: httpx.AsyncClient) -> None:
    spec = (await shop.get("/openapi.json")).json()
    post = spec["paths"]["/v1/events"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    assert {"signup", "purchase", "cart_abandoned", "form_submitted", "track"} <= set(examples)
    assert "/v1/events/batch" in spec["paths"] and "/v1/contacts" in spec["paths"]
    assert (await shop.get("/docs")).status_code == 200


async def test_concurrent_first_events_of_one_person_agree_on_one_contact(
    shop: httpx.AsyncClient, stack: RealStack
) -> None:
    import asyncio

    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    bodies = [event_of("track", name="race", contact={"email": email, "first_name": f"R{i}"}) for i in range(20)]
    answers = await asyncio.gather(*(shop.post("/v1/events", json=body) for body in bodies))
    assert {answer.status_code for answer in answers} == {202}
    ids = {answer.json()["event_id"] for answer in answers}
    records = await read_topic(stack, EVENTS, count=20, where=lambda r: r.get("event_id") in ids)
    assert len({record["contact_id"] for record in records}) == 1
