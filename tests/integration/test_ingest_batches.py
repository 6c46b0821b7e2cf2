"""Batches: 1,000 in one call, all-or-nothing by default, partial acceptance on request."""

from __future__ import annotations

import uuid

import httpx
import pytest

from shared.contract.topics import EVENTS
from tests.integration.test_ingest_events import event_of
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def test_a_batch_of_1000_is_accepted_in_one_call(shop: httpx.AsyncClient, stack: RealStack) -> None:
    run = uuid.uuid4().hex
    events = [event_of("track", name="page_scrolled", event_id=f"{run}-{i}") for i in range(1000)]
    response = await shop.post("/v1/events/batch", json={"events": events})
    assert response.status_code == 202, response.text[:500]
    body = response.json()
    assert [item["event_id"] for item in body["accepted"]] == [f"{run}-{i}" for i in range(1000)]
    assert body["rejected"] == []
    landed = await read_topic(stack, EVENTS, count=1000, where=lambda r: r.get("event_id", "").startswith(run))
    assert len({record["event_id"] for record in landed}) == 1000


async def test_one_bad_event_rejects_the_whole_batch_and_says_which(shop: httpx.AsyncClient, stack: RealStack) -> None:
    run = uuid.uuid4().hex
    events = [event_of("track", name="ok", event_id=f"{run}-{i}") for i in range(3)]
    events[1]["name"] = ""
    response = await shop.post("/v1/events/batch", json={"events": events})
    assert response.status_code == 422
    [rejected] = response.json()["rejected"]
    assert rejected["index"] == 1
    assert rejected["errors"][0]["path"] == "$.name"
    nothing = await read_topic(
        stack, EVENTS, count=1, where=lambda r: r.get("event_id", "").startswith(run), timeout=1.5
    )
    assert nothing == []


async def test_partial_acceptance_takes_the_valid_events_and_reports_the_rest(
    shop: httpx.AsyncClient, stack: RealStack
) -> None:
    run = uuid.uuid4().hex
    events = [event_of("track", name="ok", event_id=f"{run}-{i}") for i in range(3)]
    events[2]["contact"] = {}
    response = await shop.post("/v1/events/batch", json={"events": events, "partial": True})
    assert response.status_code == 202
    body = response.json()
    assert body["accepted_indexes"] == [0, 1]
    assert body["rejected"][0]["index"] == 2 and body["rejected"][0]["errors"][0]["path"] == "$.contact"
    landed = await read_topic(stack, EVENTS, count=2, where=lambda r: r.get("event_id", "").startswith(run), settle=0.5)
    assert sorted(record["event_id"] for record in landed) == [f"{run}-0", f"{run}-1"]


async def test_more_than_1000_events_is_413(shop: httpx.AsyncClient) -> None:
    events = [{"type": "track", "name": "x", "contact": {"external_id": "c1"}}] * 1001
    response = await shop.post("/v1/events/batch", json={"events": events})
    assert response.status_code == 413
    assert response.json()["errors"][0]["path"] == "$.events"
