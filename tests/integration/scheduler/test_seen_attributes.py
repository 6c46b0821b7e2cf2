"""Attribute changes are judged against what was seen before, in record order, a batch at a time."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from services.scheduler.adapters.contacts import swap_seen_attributes
from tests.integration.scheduler.conftest import Shop, publish
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


async def test_a_batch_sees_each_contacts_changes_in_order(stack: RealStack) -> None:
    tag = uuid.uuid4().hex[:8]
    kari, nils = f"kari-{tag}", f"nils-{tag}"
    connection = await asyncpg.connect(stack.database_url)
    try:
        async with connection.transaction():
            first = await swap_seen_attributes(connection, [("w", kari, {"plan": "free"})])
        async with connection.transaction():
            batch = await swap_seen_attributes(
                connection,
                [
                    ("w", kari, {"plan": "pro"}),
                    ("w", nils, {"plan": "free"}),
                    ("w", kari, {"plan": "team"}),
                ],
            )
        stored = await connection.fetch(
            "SELECT contact_id, seen_attributes::text AS seen FROM flow_contacts "
            "WHERE workspace_id = 'w' AND contact_id = ANY($1::text[]) ORDER BY contact_id",
            [kari, nils],
        )
    finally:
        await connection.close()

    assert first == [None]  # never seen: no change events for a first sighting
    assert batch == [{"plan": "free"}, None, {"plan": "pro"}]
    assert [(row["contact_id"], row["seen"]) for row in stored] == [
        (kari, '{"plan": "team"}'),
        (nils, '{"plan": "free"}'),
    ]


UPGRADE = """
id: upgrade-thanks
name: Thanks for upgrading
triggers:
  - type: event
    event: signup
steps:
  - id: upgraded
    type: wait_for
    event: attribute_changed
    attribute: plan
    timeout: 1d
    on_event: thanks
    on_timeout: done
  - id: thanks
    type: send
    template: upgrade-thanks
  - id: done
    type: exit
"""


async def test_a_profile_change_moves_a_contact_waiting_for_that_attribute(shop: Shop) -> None:
    async with shop.scheduler() as scheduler:
        await publish(scheduler, UPGRADE)
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    await shop.signup(email)
    await shop.transitions(1, where=lambda r: r.get("step_id") == "upgraded" and r.get("flow_id") == "upgrade-thanks")

    changed = await shop.ingest.post("/v1/contacts", json={"email": email, "attributes": {"plan": "pro"}})
    assert changed.status_code == 202, changed.text

    [message] = await shop.requested(1, settle=0.5, where=lambda r: r.get("template_id") == "upgrade-thanks")
    assert message["contact_id"] == changed.json()["contact_id"]
