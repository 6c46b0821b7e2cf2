"""Every service answers its probes and exposes metrics; contacts can be identified."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.scheduler.app import create_app as create_scheduler
from services.sender.app import create_app as create_sender
from services.tracker.app import create_app as create_tracker
from shared.contract.topics import CONTACTS
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings, SchedulerSettings, SenderSettings, TrackerSettings
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def test_ingest_is_ready_and_exposes_request_metrics(shop: httpx.AsyncClient) -> None:
    assert (await shop.get("/healthz")).json()["status"] == "ok"
    ready = await shop.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    await shop.post("/v1/events", json={"type": "track", "name": "x", "contact": {"external_id": "m1"}})
    metrics = (await shop.get("/metrics")).text
    assert 'dripline_http_requests_total{route="/v1/events",service="ingest",status="202"}' in metrics


@pytest.mark.parametrize(
    ("factory", "settings_class"),
    [(create_scheduler, SchedulerSettings), (create_sender, SenderSettings), (create_tracker, TrackerSettings)],
)
async def test_every_service_answers_its_probes(
    stack: RealStack, factory: object, settings_class: type[SchedulerSettings]
) -> None:
    # Topics (and so consumer groups) of its own: a member joining and leaving the shared groups
    # would make the other tests' consumers wait out a rebalance.
    prefix = f"{stack.topic_prefix}probe."
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    app = factory(stack.settings(settings_class, topic_prefix=prefix))  # type: ignore[operator]
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await _ready(client)
        assert ready == {"database": "ok", "broker": "ok"}
        assert (await client.get("/metrics")).status_code == 200


async def _ready(client: httpx.AsyncClient) -> dict[str, str]:
    """The producer connects in the background; readiness follows within a moment."""
    for _ in range(50):
        response = await client.get("/readyz")
        if response.status_code == 200:
            return dict(response.json()["checks"])
        import asyncio

        await asyncio.sleep(0.1)
    return dict(response.json()["checks"])


async def test_identify_merges_the_profile_and_publishes_it_whole(shop: httpx.AsyncClient, stack: RealStack) -> None:
    external_id = f"cust-{uuid.uuid4().hex[:8]}"
    first = await shop.post(
        "/v1/contacts",
        json={"external_id": external_id, "email": "Per@Example.com", "attributes": {"plan": "trial"}, "tags": ["a"]},
    )
    assert first.status_code == 202, first.text
    second = await shop.post(
        "/v1/contacts", json={"external_id": external_id, "first_name": "Per", "attributes": {"level": "expert"}}
    )
    contact_id = second.json()["contact_id"]
    assert contact_id == first.json()["contact_id"]
    profile = second.json()["profile"]
    assert profile["email"] == "per@example.com"
    assert profile["attributes"] == {"plan": "trial", "level": "expert"}
    assert profile["first_name"] == "Per" and profile["tags"] == ["a"]

    changes = await read_topic(stack, CONTACTS, count=2, where=lambda r: r.get("contact_id") == contact_id)
    assert changes[-1]["attributes"] == {"plan": "trial", "level": "expert"}
    assert changes[-1]["email"] == "per@example.com"


async def test_identify_rejects_a_bad_phone_number_by_name(shop: httpx.AsyncClient) -> None:
    response = await shop.post("/v1/contacts", json={"external_id": "p1", "phone": "12345"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "$.phone"
