"""The scheduler API on the real stack: API enrollment, contact updates, webhooks, migrate, simulate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.contract.topics import CONTACTS
from tests.integration.scheduler.conftest import Shop, publish
from tests.integration.scheduler.test_flow_runs import TWO_STEPS
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

VIP = """
id: vip
name: VIP welcome
category: transactional
triggers:
  - type: api
steps:
  - id: mark
    type: update_contact
    set: {vip: true}
    add_tags: [vip]
  - id: tell-sales
    type: notify
    url: https://crm.example/hooks/vip
    payload: {note: "new VIP"}
  - id: greet
    type: send
    template: vip-hello
"""


async def test_an_api_enrollment_updates_the_contact_notifies_and_sends_once(shop: Shop) -> None:
    identified = await shop.ingest.post("/v1/contacts", json={"email": f"{uuid.uuid4().hex[:10]}@example.com"})
    contact_id = identified.json()["contact_id"]
    async with shop.scheduler() as scheduler:
        await publish(scheduler, VIP)
        body = {"flow_id": "vip", "contact_id": contact_id, "event_id": f"crm-{uuid.uuid4().hex}"}
        entered = await scheduler.post("/v1/enrollments", json=body)
        assert entered.status_code == 201 and entered.json()["entered"] is True, entered.text
        again = await scheduler.post("/v1/enrollments", json=body)
        assert (again.status_code, again.json()["reason"]) == (200, "already requested")
        missing = await scheduler.post("/v1/enrollments", json={**body, "flow_id": "nope"})
        assert missing.status_code == 404
        [state] = (await scheduler.get(f"/v1/contacts/{contact_id}/enrollments")).json()
        assert state["status"] == "completed"
    webhook, email = await shop.requested(2, settle=1.0)
    assert (webhook["channel"], webhook["variables"]) == (
        "webhook",
        {"url": "https://crm.example/hooks/vip", "payload": {"note": "new VIP"}},
    )
    assert (email["channel"], email["template_id"]) == ("email", "vip-hello")
    [profile] = await read_topic(
        shop.stack, CONTACTS, count=1, where=lambda r: r.get("contact_id") == contact_id and "vip" in r.get("tags", [])
    )
    assert profile["attributes"]["vip"] is True


async def test_migrate_moves_waiting_contacts_to_the_current_version_at_the_same_step(shop: Shop) -> None:
    slow = TWO_STEPS.replace("duration: 2s", "duration: 3s")
    async with shop.scheduler() as scheduler:
        await publish(scheduler, slow)
        await shop.signup(f"{uuid.uuid4().hex[:10]}@example.com")
        await shop.requested(1)
        await publish(scheduler, slow.replace("welcome-checkin", "welcome-checkin-v2"))
        migrated = await scheduler.post("/v1/flows/welcome/migrate")
        assert migrated.json() == {"flow_id": "welcome", "version": 2, "migrated": 1}
        hello, follow_up = await shop.requested(2, settle=1.0)
    assert (hello["flow_version"], follow_up["flow_version"]) == (1, 2)
    assert follow_up["template_id"] == "welcome-checkin-v2"


async def test_simulate_shows_the_timeline_without_sending(shop: Shop) -> None:
    async with shop.scheduler() as scheduler:
        await publish(scheduler, TWO_STEPS)
        answer = await scheduler.post(
            "/v1/flows/welcome/simulate",
            json={
                "contact": {"id": "c1"},
                "events": [{"type": "signup", "after": "1m"}],
                "start": "2026-03-02T09:00:00Z",
            },
        )
    assert answer.status_code == 200, answer.text
    messages = [row for row in answer.json()["rows"] if row["what"] == "message"]
    assert [(row["step_id"], row["at"]) for row in messages] == [
        ("hello", "2026-03-02T09:01:00Z"),
        ("follow-up", "2026-03-02T09:01:02Z"),
    ]
    assert await shop.requested(0, settle=0.5) == []


DATED = """
id: reminder
name: Reminder at a date
triggers:
  - type: date
    attribute: demo_at
steps:
  - id: remind
    type: send
    template: reminder
"""


async def test_a_date_trigger_set_on_the_profile_enters_the_contact_when_it_comes_due(shop: Shop) -> None:
    async with shop.scheduler() as scheduler:
        await publish(scheduler, DATED)
    due = datetime.now(UTC) + timedelta(seconds=2)
    identified = await shop.ingest.post(
        "/v1/contacts",
        json={"email": f"{uuid.uuid4().hex[:10]}@example.com", "attributes": {"demo_at": due.isoformat()}},
    )
    assert identified.status_code == 202, identified.text
    contact_id = identified.json()["contact_id"]
    consented = await shop.ingest.put(f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {"*": True}})
    assert consented.status_code == 200, consented.text
    [message] = await shop.requested(1, settle=1.0)
    assert (message["contact_id"], message["template_id"]) == (identified.json()["contact_id"], "reminder")
    assert datetime.fromisoformat(message["occurred_at"]) >= due
