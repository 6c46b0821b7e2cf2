"""Segments on the real stack: saved by API, judged when a contact changes, starting flows and read in branches."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.integration.scheduler.conftest import Shop, publish

pytestmark = pytest.mark.stack

VIP_WELCOME = """
id: vip-welcome
name: VIP welcome
category: transactional
triggers:
  - type: segment_entered
    segment: vip
steps:
  - id: which
    type: branch
    conditions:
      - when: '"nordic" in contact.segments'
        next: nordic
    else: everyone
  - id: nordic
    type: send
    template: vip-nordic
    next: done
  - id: everyone
    type: send
    template: vip-everyone
  - id: done
    type: exit
"""


async def test_a_contact_entering_a_segment_starts_its_flow_and_the_count_follows(shop: Shop) -> None:
    async with shop.scheduler() as scheduler:
        bad = await scheduler.post("/v1/segments", json={"id": "x", "name": "X", "condition": "contact.tags =="})
        assert bad.status_code == 422 and "does not parse" in bad.text
        for segment in (
            {"id": "vip", "name": "VIPs", "condition": '"vip" in contact.tags'},
            {"id": "nordic", "name": "Nordics", "condition": 'contact.attributes.country in ["NO", "SE", "DK"]'},
        ):
            created = await scheduler.post("/v1/segments", json=segment)
            assert created.status_code == 201 and created.json()["members"] == 0, created.text
        await publish(scheduler, VIP_WELCOME)

        email = f"{uuid.uuid4().hex[:10]}@example.com"
        first = await shop.ingest.post("/v1/contacts", json={"email": email, "attributes": {"country": "NO"}})
        contact_id = first.json()["contact_id"]
        await shop.ingest.post("/v1/contacts", json={"email": email, "tags": ["vip"]})

        [message] = await shop.requested(1, settle=1.0)
        assert (message["contact_id"], message["template_id"]) == (contact_id, "vip-nordic")
        counts = {s["id"]: s["members"] for s in (await scheduler.get("/v1/segments")).json()}
        assert counts == {"nordic": 1, "vip": 1}

        await shop.ingest.post("/v1/contacts", json={"email": email, "attributes": {"country": "DE"}})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (await scheduler.get("/v1/segments/nordic")).json()["members"] != 0:
            assert loop.time() < deadline, "the contact never left the segment"
            await asyncio.sleep(0.05)

        assert (await scheduler.delete("/v1/segments/vip")).status_code == 204
        assert (await scheduler.get("/v1/segments/vip")).status_code == 404
        assert (await scheduler.delete("/v1/segments/vip")).status_code == 404
