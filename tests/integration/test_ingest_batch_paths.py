"""Batches on the real stack: the one-pass path for clean batches and the route that explains the rest."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from shared.contract.topics import CONTACTS, EVENTS, PURCHASES, SIGNUPS
from tests.integration.test_ingest_events import event_of
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def test_a_clean_batch_of_mixed_events_lands_each_on_its_topic(shop: httpx.AsyncClient, stack: RealStack) -> None:
    run = uuid.uuid4().hex
    email = f"{run[:10]}@example.com"
    events = [
        event_of("signup", event_id=f"{run}-0", contact={"email": email, "first_name": "Kari"}),
        event_of("purchase", event_id=f"{run}-1", contact={"email": email}),
        event_of("track", name="coupon_redeemed", event_id=f"{run}-2", contact={"email": email}),
    ]
    response = await shop.post("/v1/events/batch", json={"events": events, "partial": True})
    assert response.status_code == 202, response.text
    assert response.json() == {
        "accepted": [{"event_id": f"{run}-{i}"} for i in range(3)],
        "accepted_indexes": [0, 1, 2],
        "rejected": [],
    }

    mine = lambda record: record.get("event_id", "").startswith(run)  # noqa: E731
    [signup] = await read_topic(stack, SIGNUPS, count=1, where=mine)
    [purchase] = await read_topic(stack, PURCHASES, count=1, where=mine)
    [track] = await read_topic(stack, EVENTS, count=1, where=mine)
    profiles = await read_topic(stack, CONTACTS, count=1, where=lambda record: record.get("email") == email)
    assert profiles[0]["first_name"] == "Kari"
    assert {signup["contact_id"], purchase["contact_id"], track["contact_id"]} == {p["contact_id"] for p in profiles}
    assert track["__key__"] == track["contact_id"] and track["workspace_id"] == "shop-one"
    assert track["__headers__"] == {"schema": "TrackEvent", "schema-version": "1", "event-type": "track"}
    for topic, record in ((SIGNUPS, signup), (PURCHASES, purchase), (EVENTS, track)):
        topic.adapter().validate_python({k: v for k, v in record.items() if not k.startswith("__")})


async def test_one_contacts_events_stay_in_the_order_posted(shop: httpx.AsyncClient, stack: RealStack) -> None:
    run = uuid.uuid4().hex
    contact = {"external_id": f"cust-{run}"}
    batches = [
        [event_of("track", name=f"step-{b}-{i}", event_id=f"{run}-{b}-{i}", contact=contact) for i in range(50)]
        for b in range(3)
    ]
    for events in batches:  # one after the other: the order a shop's own queue would post them
        response = await shop.post("/v1/events/batch", json={"events": events})
        assert response.status_code == 202, response.text

    landed = await read_topic(stack, EVENTS, count=150, where=lambda r: r.get("event_id", "").startswith(run))
    assert [record["name"] for record in landed] == [event["name"] for events in batches for event in events]
    assert len({record["contact_id"] for record in landed}) == 1


async def test_concurrent_batches_are_each_answered_with_their_own_ids(
    shop: httpx.AsyncClient, stack: RealStack
) -> None:
    run = uuid.uuid4().hex

    async def post(batch: int) -> list[str]:
        events = [
            event_of("track", name="viewed", event_id=f"{run}-{batch}-{i}", contact={"external_id": f"c-{i % 7}"})
            for i in range(100)
        ]
        response = await shop.post("/v1/events/batch", json={"events": events})
        assert response.status_code == 202, response.text
        return [item["event_id"] for item in response.json()["accepted"]]

    answers = await asyncio.gather(*(post(batch) for batch in range(8)))
    assert answers == [[f"{run}-{batch}-{i}" for i in range(100)] for batch in range(8)]
    landed = await read_topic(stack, EVENTS, count=800, where=lambda r: r.get("event_id", "").startswith(run))
    assert len({record["event_id"] for record in landed}) == 800


async def test_a_batch_with_a_wrong_shape_is_refused_naming_the_field(shop: httpx.AsyncClient) -> None:
    response = await shop.post("/v1/events/batch", json={"events": "not a list"})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert response.json()["errors"][0]["path"] == "$.events"

    unknown = await shop.post("/v1/events/batch", json={"events": [], "partial": False, "all": True})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["path"] == "$.all"


async def test_a_batch_body_that_is_not_json_is_refused(shop: httpx.AsyncClient) -> None:
    broken = await shop.post("/v1/events/batch", content=b'{"events": [', headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.json()["error"] == "invalid_body"
    assert broken.json()["errors"][0]["path"] == "$"

    as_text = await shop.post("/v1/events/batch", content=b'{"events": []}', headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 415
    assert as_text.json()["errors"][0]["path"] == "header.content-type"


async def test_an_empty_batch_accepts_nothing(shop: httpx.AsyncClient) -> None:
    response = await shop.post("/v1/events/batch", json={"events": []})
    assert response.status_code == 202
    assert response.json() == {"accepted": [], "accepted_indexes": [], "rejected": []}


async def test_a_batch_without_a_valid_key_is_refused_before_its_body_is_read(
    shop: httpx.AsyncClient, ingest_url: str
) -> None:
    async with httpx.AsyncClient(base_url=ingest_url) as anonymous:
        missing = await anonymous.post("/v1/events/batch", json={"events": []})
        unknown = await anonymous.post("/v1/events/batch", json={"events": []}, headers={"X-Api-Key": "dl_nope"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert unknown.status_code == 401 and unknown.json()["detail"] == "unknown API key"
    assert unknown.json()["errors"] == [{"path": "header.authorization", "reason": "unknown API key"}]


async def test_an_oversize_batch_gets_413_even_when_streamed_without_a_length(shop: httpx.AsyncClient) -> None:
    event = event_of("track", name="huge", properties={"blob": "x" * 50_000})

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"events": ['
        for index in range(50):
            yield (b"," if index else b"") + orjson.dumps(event)
        yield b"]}"

    response = await shop.post("/v1/events/batch", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
