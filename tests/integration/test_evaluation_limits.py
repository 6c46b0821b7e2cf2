"""Template and condition bombs get a quick 4xx naming the limit, and the services stay ready.

Unbounded, each of these ran for seconds to minutes on the service's event loop.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.stack import RealStack
from tests.support.system import System, running_system

pytestmark = pytest.mark.stack

QUICK = 5.0  # seconds: generous for a shared machine; the unbounded renders and conditions took far longer
TEMPLATE = """id: {id}
category: marketing
subject: "Hello"
html: |
  <html><body>{body}</body></html>
"""
# 2**17 characters, then printed 10,000 times: 2.6 GB.
NESTED_LOOPS = (
    "{% assign s = 'ab' %}{% for i in (1..16) %}{% assign s = s | append: s %}{% endfor %}"
    "{% for i in (1..100) %}{% for j in (1..100) %}{{ s }}{% endfor %}{% endfor %}"
)
BOMBS = {
    "output limit reached": NESTED_LOOPS,
    "at most 10,000 are allowed": "{{ (1..100000000) | join: ',' }}",
    # Four growing appends a round from 2**17 characters, 18 GB copied in all: seconds on the fastest machine,
    # so the half-second limit always stops it (one append a round, 5 GB, once finished under it and was sent).
    "render time limit reached": "{% assign s = 'ab' %}{% for i in (1..16) %}{% assign s = s | append: s %}{% endfor %}"
    "{% for i in (1..10000) %}{% assign t = s | append: s | append: s | append: s | append: s %}{% endfor %}",
}
FLOW = """id: {id}
name: Costly condition
triggers: [{{type: event, event: cart_abandoned}}]
steps:
  - id: pick
    type: branch
    conditions: [{{when: '{condition}', next: done}}]
    else: done
  - {{id: done, type: exit}}
"""


def concatenated(times: int) -> str:
    return "size(" + " + ".join(["event.items"] * times) + ") > 0"


@pytest.fixture(scope="module")
async def system(stack: RealStack) -> AsyncIterator[System]:
    async with running_system(stack, "evaluation") as running:
        yield running


async def still_ready(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text


@pytest.mark.parametrize("limit", sorted(BOMBS))
async def test_a_template_bomb_gets_a_quick_422_naming_the_limit(system: System, limit: str) -> None:
    template_id = f"bomb-{uuid.uuid4().hex[:8]}"
    async with system.sender.client() as sender:
        stored = await sender.post("/v1/templates", json={"source": TEMPLATE.format(id=template_id, body=BOMBS[limit])})
        assert stored.status_code == 201, stored.text
        started = time.monotonic()
        preview = await sender.post(f"/v1/templates/{template_id}/preview", json={"contact": {"first_name": "Ann"}})
        took = time.monotonic() - started
        await still_ready(sender)

    assert preview.status_code == 422, preview.text
    assert [limit in problem for problem in preview.json()["detail"]["problems"]] == [True]
    assert took < QUICK


async def test_publishing_a_condition_with_too_many_operations_gets_a_quick_422(system: System) -> None:
    # Each `+ [1]` copies the whole list again: 400 of them on 50,000 items took 3 to 4 s.
    flow = FLOW.format(id=f"costly-{uuid.uuid4().hex[:8]}", condition="size(event.items" + " + [1]" * 150 + ") > 0")
    started = time.monotonic()
    answer = await system.scheduler.post("/v1/flows", content=flow, headers={"Content-Type": "application/yaml"})
    took = time.monotonic() - started

    assert answer.status_code == 422, answer.text
    assert "has 302 operators and calls; at most 200 are allowed" in answer.text
    assert took < QUICK
    await still_ready(system.scheduler)


async def test_simulating_a_condition_too_costly_for_the_event_gets_a_quick_422(system: System) -> None:
    flow_id = f"costly-{uuid.uuid4().hex[:8]}"
    flow = FLOW.format(id=flow_id, condition=concatenated(60))
    published = await system.scheduler.post("/v1/flows", content=flow, headers={"Content-Type": "application/yaml"})
    assert published.status_code in (200, 201), published.text
    # 60,000 items, about 120 KB of JSON: 60 concatenations of them would copy 100 million items.
    cart = {"type": "cart_abandoned", "after": "1m", "data": {"items": [0] * 60_000}}
    started = time.monotonic()
    answer = await system.scheduler.post(
        f"/v1/flows/{flow_id}/simulate", json={"contact": {"id": "c1"}, "events": [cart]}
    )
    took = time.monotonic() - started
    small = await system.scheduler.post(
        f"/v1/flows/{flow_id}/simulate", json={"contact": {"id": "c1"}, "events": [{**cart, "data": {"items": [1]}}]}
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("steps.0.conditions.0.when: expression 'size(event.items + event.items")
    assert "more than the 2,000,000 a condition may cost" in answer.json()["detail"]
    assert took < QUICK
    assert small.status_code == 200, small.text
    await still_ready(system.scheduler)
