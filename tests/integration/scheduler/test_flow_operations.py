"""Operating live flows on the real stack: policies, live edits, pause and resume, publishing."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.scheduler.conftest import Shop, publish, set_policy
from tests.integration.scheduler.test_flow_runs import TWO_STEPS

pytestmark = pytest.mark.stack


def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


async def test_a_frequency_cap_holds_a_message_and_says_why(shop: Shop) -> None:
    back_to_back = TWO_STEPS.replace("    type: wait\n    duration: 2s\n", "    type: wait\n    duration: 0s\n")
    async with shop.scheduler() as scheduler:
        await set_policy(
            scheduler, {"caps": [{"channel": "email", "max_messages": 1, "window": "1h"}], "grace_after_signup": "0s"}
        )
        await publish(scheduler, back_to_back)
        await shop.signup(email())
        [held] = await shop.transitions(1, where=lambda t: t["kind"] == "held")
        assert held["step_id"] == "follow-up"
        assert "frequency cap 1 email per 1h" in held["reason"]
        assert [m["template_id"] for m in await shop.requested(1, settle=1.0)] == ["welcome-hello"]


async def test_a_live_edit_keeps_contacts_in_flight_on_their_version(shop: Shop) -> None:
    slow = TWO_STEPS.replace("duration: 2s", "duration: 3s")
    edited = slow.replace("welcome-hello", "welcome-hello-v2").replace("welcome-checkin", "welcome-checkin-v2")
    async with shop.scheduler() as scheduler:
        await publish(scheduler, slow)
        await shop.signup(email())
        [first] = await shop.requested(1)
        assert (await publish(scheduler, edited))["version"] == 2
        await shop.signup(email())
        messages = await shop.requested(4, settle=1.0)
    by_contact: dict[str, list[tuple[str, int]]] = {}
    for message in messages:
        by_contact.setdefault(message["contact_id"], []).append((message["template_id"], message["flow_version"]))
    early = by_contact.pop(first["contact_id"])
    [late] = by_contact.values()
    assert early == [("welcome-hello", 1), ("welcome-checkin", 1)]
    assert late == [("welcome-hello-v2", 2), ("welcome-checkin-v2", 2)]


async def test_pause_holds_timers_and_entries_and_resume_continues(shop: Shop) -> None:
    async with shop.scheduler() as scheduler:
        await publish(scheduler, TWO_STEPS)
        await shop.signup(email())
        [hello] = await shop.requested(1)
        assert (await scheduler.post("/v1/flows/welcome/pause")).json()["paused"] is True
        await shop.signup(email())  # no entry while paused
        assert len(await shop.requested(1, settle=3.0)) == 1  # the 2s wait came due and was held
        resumed = await scheduler.post("/v1/flows/welcome/resume")
        assert resumed.json()["paused"] is False and resumed.json()["resumed"] == 1
        messages = await shop.requested(2, settle=1.0)
    assert [(m["contact_id"], m["template_id"]) for m in messages] == [
        (hello["contact_id"], "welcome-hello"),
        (hello["contact_id"], "welcome-checkin"),
    ]


async def test_publishing_reports_problems_by_line_and_does_not_bump_identical_source(shop: Shop) -> None:
    async with shop.scheduler() as scheduler:
        broken = await scheduler.post(
            "/v1/flows",
            json={"source": TWO_STEPS.replace("duration: 2s", "duration: soon"), "file": "welcome.yaml"},
        )
        assert broken.status_code == 422
        [problem] = broken.json()["problems"]
        assert problem["file"] == "welcome.yaml" and problem["line"] == 16 and "duration" in problem["reason"]
        first = await scheduler.post("/v1/flows", json={"source": TWO_STEPS})
        again = await scheduler.post("/v1/flows", json={"source": TWO_STEPS})
        assert (first.status_code, first.json()["version"]) == (201, 1)
        assert (again.status_code, again.json()) == (
            200,
            {"flow_id": "welcome", "version": 1, "created": False, "warnings": []},
        )
        listed = (await scheduler.get("/v1/flows")).json()
        assert [(f["flow_id"], f["current_version"], f["paused"]) for f in listed] == [("welcome", 1, False)]
        shown = (await scheduler.get("/v1/flows/welcome")).json()
        assert shown["source"] == TWO_STEPS and [v["version"] for v in shown["versions"]] == [1]
        assert (await scheduler.get("/v1/flows/nope")).status_code == 404
