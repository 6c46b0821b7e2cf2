"""Broadcasts in the console on the real stack: an editor's wrong fields are named and nothing is saved; the
fixed form sends the newsletter to every subscriber (in the SMTP inbox) and the page follows it; a test
then send with an exclusion made in the form is stored as the API stores the same broadcast, and hostile
numbers or an unknown segment are named; schedule (a draft), pause, resume and cancel go behind a
confirmation and into the audit log; a viewer has no buttons and is refused anyway; another workspace's
broadcast is not found."""

from __future__ import annotations

import re
import uuid
from html import unescape

import pytest

from dripline.devstack.inbox import ReceivedMail
from tests.integration.scheduler.conftest import new_workspace
from tests.integration.sender.conftest import eventually
from tests.support.stack import RealStack

from .conftest import NEWS, ConsoleShop, Visitor

pytestmark = pytest.mark.stack


def _news(shop: ConsoleShop, email: str) -> list[ReceivedMail]:
    return [mail for mail in shop.system.sender.mails_to(email) if mail.subject == "News from the console"]


def _form(broadcast_id: str, **changed: str) -> dict[str, str]:
    return {"id": broadcast_id, "name": f"Newsletter {broadcast_id}", "templates": "console-news",
            "audience": "marketing", "when": "now", **changed}  # fmt: skip


async def test_an_editor_is_told_each_wrong_field_then_the_broadcast_reaches_every_subscriber(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop, api = console_shop, console_shop.system.scheduler
    await shop.system.sender.runtime.templates.publish(shop.workspace_id, NEWS)
    await visitor.sign_in(*shop.passwords["editor"])
    csrf = await visitor.csrf("/console/broadcasts/new")
    hostile = _form("Bad Id!<script>", per_hour="lots", audience="segment", segment="", when="at", date="soon")
    wrong = await visitor.post("/console/broadcasts/new", {"csrf": csrf, **hostile})
    assert wrong.status_code == 422
    for field in ("id", "per_hour", "segment", "date", "time"):
        assert f'data-error="{field}"' in wrong.text, field
    assert "<script>" not in wrong.text and "Bad Id!&lt;script&gt;" in wrong.text  # as typed, escaped
    assert "is not a whole number of messages an hour" in unescape(wrong.text)
    names = [found["broadcast"]["name"] for found in (await api.get("/v1/broadcasts")).json()]
    assert hostile["name"] not in names  # nothing saved

    broadcast_id = f"news-{uuid.uuid4().hex[:6]}"
    created = await visitor.post("/console/broadcasts/new", {"csrf": csrf, **_form(broadcast_id)})
    assert created.status_code == 303 and created.headers["location"] == f"/console/broadcasts/{broadcast_id}"

    async def everyone_got_it() -> bool:
        return all(len(_news(shop, email)) == 1 for email in shop.emails)

    await eventually(everyone_got_it, timeout=30, what="the newsletter in every subscriber's inbox")
    assert "Hi Ada0, the news." in (_news(shop, shop.emails[0])[0].part("plain") or "")
    status = (await api.get(f"/v1/broadcasts/{broadcast_id}")).json()
    page = await visitor.get(f"/console/broadcasts/{broadcast_id}")
    assert f'data-metric="sent">{status["progress"]["sent"]}<' in page.text and status["progress"]["sent"] == 5
    listed = await visitor.get("/console/broadcasts")
    assert f'data-broadcast="{broadcast_id}"' in listed.text
    entry = page.text.split('data-audit="broadcast.scheduled"', 1)
    assert len(entry) == 2 and 'data-actor="user:' in entry[1].split("</tr>", 1)[0]


async def test_pause_resume_and_cancel_go_behind_a_confirmation_and_a_viewer_is_refused(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop, api = console_shop, console_shop.system.scheduler
    await shop.system.sender.runtime.templates.publish(shop.workspace_id, NEWS)
    broadcast_id = f"later-{uuid.uuid4().hex[:6]}"
    viewer = Visitor(shop.url)
    try:
        await visitor.sign_in(*shop.passwords["editor"])
        csrf = await visitor.csrf("/console/broadcasts/new")
        later = _form(broadcast_id, when="at", date="2099-12-24", time="09:00")
        assert (await visitor.post("/console/broadcasts/new", {"csrf": csrf, **later})).status_code == 303
        assert (await api.get(f"/v1/broadcasts/{broadcast_id}")).json()["state"] == "scheduled"

        await viewer.sign_in(*shop.passwords["viewer"])
        seen = await viewer.get(f"/console/broadcasts/{broadcast_id}")
        assert seen.status_code == 200 and "Cancel…" not in seen.text and "Pause…" not in seen.text
        assert (await viewer.get(f"/console/broadcasts/{broadcast_id}/cancel")).status_code == 403
        forged = await viewer.post(f"/console/broadcasts/{broadcast_id}/cancel", {"csrf": await viewer.csrf()})
        assert forged.status_code == 403 and "your role (viewer) may not cancel broadcasts" in forged.text
        assert (await viewer.post("/console/broadcasts/new", {"csrf": await viewer.csrf(), **later})).status_code == 403

        page = await visitor.get(f"/console/broadcasts/{broadcast_id}")
        assert "Pause…" in page.text and "Cancel…" in page.text
        confirm = await visitor.get(f"/console/broadcasts/{broadcast_id}/pause")
        assert confirm.status_code == 200 and "Yes, pause it" in confirm.text
        stale = await visitor.post(f"/console/broadcasts/{broadcast_id}/pause", {"csrf": "from-another-site"})
        assert stale.status_code == 403
        for action, state in (("pause", "paused"), ("resume", "scheduled"), ("cancel", "cancelled")):
            moved = await visitor.post(f"/console/broadcasts/{broadcast_id}/{action}", {"csrf": csrf})
            assert moved.status_code == 303, moved.text[:300]
            assert (await api.get(f"/v1/broadcasts/{broadcast_id}")).json()["state"] == state
        again = await visitor.post(f"/console/broadcasts/{broadcast_id}/pause", {"csrf": csrf})
        assert again.status_code == 409 and "cancelled" in again.text
        audit = await visitor.get("/console/audit")
        for action in ("broadcast.scheduled", "broadcast.paused", "broadcast.cancelled"):
            assert f'data-audit="{action}" data-target="{broadcast_id}"' in audit.text, action
    finally:
        await viewer.close()


async def test_a_test_then_send_with_an_exclusion_is_stored_as_the_api_stores_it_and_hostile_fields_are_named(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    api, tag = console_shop.system.scheduler, uuid.uuid4().hex[:6]
    segment = {"id": f"bought-{tag}", "name": "Bought today", "condition": '"bought-today" in contact.tags'}
    assert (await api.post("/v1/segments", json=segment)).status_code == 201
    await visitor.sign_in(*console_shop.passwords["editor"])
    csrf = await visitor.csrf("/console/broadcasts/new")
    tested = _form(f"ab-{tag}", templates="console-news, console-news-b", exclude_segments=segment["id"],
                   category="marketing", consent_topic="newsletter", per_hour="1200", test="on",
                   sample_percent="20", wait="4h", metric="clicks", when="best_time", date="2099-12-24",
                   time="09:00", end="12:00")  # fmt: skip
    created = await visitor.post("/console/broadcasts/new", {"csrf": csrf, **tested})
    assert created.status_code == 303, created.text[:500]
    same = {"id": f"ab-api-{tag}", "name": tested["name"], "templates": ["console-news", "console-news-b"],
            "audience": {"kind": "marketing"}, "exclude_segments": [segment["id"]], "category": "marketing",
            "topic": "newsletter", "per_hour": 1200, "test": {"sample_percent": 20, "wait": "4h", "metric": "clicks"},
            "schedule": {"kind": "best_time", "date": "2099-12-24", "start": "09:00", "end": "12:00"}}  # fmt: skip
    assert (await api.post("/v1/broadcasts", json=same)).status_code == 201
    made = (await api.get(f"/v1/broadcasts/ab-{tag}")).json()
    posted = (await api.get(f"/v1/broadcasts/ab-api-{tag}")).json()
    assert {**made["broadcast"], "id": ""} == {**posted["broadcast"], "id": ""}
    assert made["state"] == "scheduled" and made["broadcast"]["test"]["metric"] == "clicks"
    page = await visitor.get(f"/console/broadcasts/ab-{tag}")
    assert f"minus {segment['id']}" in page.text and "tested on 20% by clicks" in page.text

    hostile = {**tested, "id": f"hostile-{tag}", "per_hour": "9" * 40, "sample_percent": "-5",
               "exclude_segments": "no-such-segment"}  # fmt: skip
    wrong = await visitor.post("/console/broadcasts/new", {"csrf": csrf, **hostile})
    assert wrong.status_code == 422
    errors = dict(re.findall(r'data-error="([a-z_]+)">([^<]*)<', unescape(wrong.text)))
    assert errors["per_hour"].startswith("Input should be less than or equal to 10000000")
    assert errors["sample_percent"].startswith("Input should be greater than or equal to 2")
    assert errors["exclude_segments"] == "this workspace has no segment 'no-such-segment'"
    assert (await api.get(f"/v1/broadcasts/hostile-{tag}")).status_code == 404  # nothing saved


async def test_an_editor_schedules_a_draft_from_its_page_and_a_viewer_cannot(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    api, broadcast_id = console_shop.system.scheduler, f"draft-{uuid.uuid4().hex[:6]}"
    viewer = Visitor(console_shop.url)
    try:
        await visitor.sign_in(*console_shop.passwords["editor"])
        csrf = await visitor.csrf("/console/broadcasts/new")
        made = await visitor.post("/console/broadcasts/new", {"csrf": csrf, **_form(broadcast_id, when="draft")})
        assert made.status_code == 303 and (await api.get(f"/v1/broadcasts/{broadcast_id}")).json()["state"] == "draft"
        assert "Schedule…" in (await visitor.get(f"/console/broadcasts/{broadcast_id}")).text

        await viewer.sign_in(*console_shop.passwords["viewer"])
        assert "Schedule…" not in (await viewer.get(f"/console/broadcasts/{broadcast_id}")).text
        assert (await viewer.get(f"/console/broadcasts/{broadcast_id}/schedule")).status_code == 403
        later = {"when": "at", "date": "2099-12-24", "time": "09:00"}
        refused = await viewer.post(
            f"/console/broadcasts/{broadcast_id}/schedule", {"csrf": await viewer.csrf(), **later}
        )
        assert refused.status_code == 403 and "your role (viewer) may not schedule broadcasts" in refused.text

        confirm = await visitor.get(f"/console/broadcasts/{broadcast_id}/schedule")
        assert confirm.status_code == 200 and "Yes, schedule it" in confirm.text
        assert 'name="when" value="now" checked' in confirm.text  # a draft without a schedule is offered now
        stale = await visitor.post(f"/console/broadcasts/{broadcast_id}/schedule", {"csrf": "forged", **later})
        assert stale.status_code == 403
        wrong = await visitor.post(
            f"/console/broadcasts/{broadcast_id}/schedule", {"csrf": csrf, **later, "time": "9am"}
        )
        assert wrong.status_code == 422 and 'data-error="time"' in wrong.text
        assert (await api.get(f"/v1/broadcasts/{broadcast_id}")).json()["state"] == "draft"
        moved = await visitor.post(f"/console/broadcasts/{broadcast_id}/schedule", {"csrf": csrf, **later})
        assert moved.status_code == 303, moved.text[:300]
        status = (await api.get(f"/v1/broadcasts/{broadcast_id}")).json()
        assert status["state"] == "scheduled" and status["starts_at"].startswith("2099-12-24T09:00")
        page = await visitor.get(f"/console/broadcasts/{broadcast_id}")
        entry = page.text.split(f'data-audit="broadcast.scheduled" data-target="{broadcast_id}"', 1)
        assert len(entry) == 2 and 'data-actor="user:' in entry[1].split("</tr>", 1)[0]
        assert "Schedule…" not in page.text  # a scheduled broadcast is paused or cancelled, not scheduled again
    finally:
        await viewer.close()


async def test_another_workspaces_broadcast_is_not_found_nor_listed(
    console_shop: ConsoleShop, visitor: Visitor, stack: RealStack
) -> None:
    _, other_key = await new_workspace(stack)
    api = console_shop.system.scheduler
    theirs = {"id": "their-news", "name": "Theirs", "templates": ["news"], "audience": {"kind": "marketing"}}
    made = await api.post("/v1/broadcasts", json=theirs, headers={"X-Api-Key": other_key})
    assert made.status_code == 201, made.text
    await visitor.sign_in(*console_shop.passwords["admin"])
    csrf = await visitor.csrf()
    assert "their-news" not in (await visitor.get("/console/broadcasts")).text
    assert (await visitor.get("/console/broadcasts/their-news")).status_code == 404
    assert (await visitor.get("/console/broadcasts/their-news/cancel")).status_code == 404
    assert (await visitor.post("/console/broadcasts/their-news/cancel", {"csrf": csrf})).status_code == 404
    assert (await visitor.get("/console/broadcasts/their-news/schedule")).status_code == 404
    now = {"csrf": csrf, "when": "now"}
    assert (await visitor.post("/console/broadcasts/their-news/schedule", now)).status_code == 404
    kept = await api.get("/v1/broadcasts/their-news", headers={"X-Api-Key": other_key})
    assert kept.json()["state"] == "draft"
