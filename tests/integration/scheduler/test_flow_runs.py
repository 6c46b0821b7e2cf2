"""A flow runs end to end on the real stack: ingest → broker → scheduler → messages.requested."""

from __future__ import annotations

import uuid

import pytest

from services.scheduler.domain.identity import message_id
from tests.integration.scheduler.conftest import Shop, publish

pytestmark = pytest.mark.stack

TWO_STEPS = """
id: welcome
name: Welcome
triggers:
  - type: event
    event: signup
goals:
  - id: bought
    event: purchase
steps:
  - id: hello
    type: send
    template: welcome-hello
  - id: breather
    type: wait
    duration: 2s
  - id: follow-up
    type: send
    template: welcome-checkin
"""


def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


async def test_a_signup_runs_the_flow_and_requests_each_message_once_with_deterministic_ids(shop: Shop) -> None:
    async with shop.scheduler() as scheduler:
        assert (await publish(scheduler, TWO_STEPS))["version"] == 1
        await shop.signup(email())
        [hello] = await shop.requested(1)
        assert hello["template_id"] == "welcome-hello" and hello["step_id"] == "hello"
        contact = hello["contact_id"]
        assert hello["event_id"] == message_id(shop.workspace_id, contact, "welcome", 1, "hello", "1.1")
        messages = await shop.requested(2, settle=1.0)
    assert [m["template_id"] for m in messages] == ["welcome-hello", "welcome-checkin"]
    assert messages[1]["event_id"] == message_id(shop.workspace_id, contact, "welcome", 1, "follow-up", "1.1")
    kinds = [t["kind"] for t in await shop.transitions(1, where=lambda t: t["kind"] == "exited")]
    assert kinds == ["exited"]


async def test_the_same_event_posted_twice_enrolls_once(shop: Shop) -> None:
    every_time = TWO_STEPS.replace("goals:", "entry:\n  frequency: every_time\ngoals:")
    every_time = every_time[: every_time.index("  - id: breather")]
    async with shop.scheduler() as scheduler:
        await publish(scheduler, every_time)
        address, event_id = email(), f"signup-{uuid.uuid4().hex}"
        await shop.signup(address, event_id=event_id)
        await shop.signup(address, event_id=event_id)
        assert len(await shop.requested(1, settle=2.0)) == 1
        await shop.signup(address)  # a new sign-up (new id) may enter again: the rule is every_time
        assert len(await shop.requested(2, settle=1.0)) == 2


async def test_a_purchase_reaches_the_goal_and_no_later_message_goes(shop: Shop) -> None:
    async with shop.scheduler() as scheduler:
        await publish(scheduler, TWO_STEPS.replace("duration: 2s", "duration: 3s"))
        address = email()
        await shop.signup(address)
        await shop.requested(1)
        purchase = {"type": "purchase", "order_id": "o-1", "revenue": "10", "currency": "NOK"}
        await shop.event({**purchase, "contact": {"email": address}})
        [goal] = await shop.transitions(1, where=lambda t: t["kind"] == "goal_reached")
        assert goal["reason"] == "bought"
        assert len(await shop.requested(1, settle=4.0)) == 1


async def test_a_signup_without_consent_is_refused_entry_with_the_reason_on_the_transitions_topic(shop: Shop) -> None:
    async with shop.scheduler() as scheduler:
        await publish(scheduler, TWO_STEPS)
        declined = {"type": "signup", "contact": {"email": email()}, "consent": {"marketing": False}}
        await shop.event(declined)
        await shop.signup(email())  # and one who agreed, to know the scheduler has read both
        [hello] = await shop.requested(1)
        [refused] = await shop.transitions(1, where=lambda r: r["kind"] == "refused")
        assert (refused["flow_id"], refused["reason"]) == ("welcome", "no consent to marketing")
        assert refused["step_id"] is None
        assert refused["contact_id"] != hello["contact_id"]
        assert await shop.transitions(2, where=lambda r: r["kind"] == "refused", timeout=1) == [refused]
