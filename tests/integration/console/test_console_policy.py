"""The policy page on the real stack: every role reads the policy in force; editors change it, with an
error beside each wrong field and nothing saved until all are right; admins set the test recipients. What
is saved holds the next sign-up's email back, and every change is in the audit log, from the API too."""

from __future__ import annotations

import uuid
from html import unescape
from typing import Any

import asyncpg
import pytest

from shared.contract.topics import AUDIT
from shared.workspaces import load_test_recipients
from tests.integration.sender.conftest import eventually
from tests.support.topics import read_topic

from .conftest import ConsoleShop, Visitor

pytestmark = pytest.mark.stack
GOOD = {"grace": "3h", "quiet_start": "", "quiet_end": "", "time_zone": "Europe/Oslo",
        "cap-0-channel": "email", "cap-0-max": "2", "cap-0-window": "1d", "cap-1-channel": "email",
        "cap-1-max": "", "cap-1-window": ""}  # fmt: skip


def _pool(shop: ConsoleShop) -> asyncpg.Pool:
    pool: asyncpg.Pool = shop.system.scheduler_app.state.resources.pool
    return pool


async def test_a_viewer_reads_the_policy_but_has_no_form_and_is_refused_a_change(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    await visitor.sign_in(*console_shop.passwords["viewer"])
    page = await visitor.get("/console/policy")
    assert page.status_code == 200
    assert '<dd data-policy="caps">none</dd>' in page.text  # the test workspace's: no caps, no grace
    assert '<dd data-policy="grace">0s</dd>' in page.text
    assert "Save the policy" not in page.text and "Save the test recipients" not in page.text
    refused = await visitor.post("/console/policy", {"csrf": await visitor.csrf(), **GOOD})
    assert refused.status_code == 403 and "your role (viewer) may not change the sending policy" in refused.text


async def test_an_editor_fixes_the_fields_named_and_the_saved_policy_holds_the_next_signup_back(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop, api = console_shop, console_shop.system.scheduler
    await visitor.sign_in(*shop.passwords["editor"])
    csrf = await visitor.csrf("/console/policy")
    wrong = await visitor.post("/console/policy", {"csrf": csrf, **GOOD, "grace": "soon", "cap-0-max": "none"})
    assert wrong.status_code == 422
    assert 'data-error="grace"' in wrong.text and "'soon' is not a duration" in unescape(wrong.text)
    assert 'data-error="cap-0-max"' in wrong.text and 'value="soon"' in wrong.text  # the form as typed
    assert (await api.get("/v1/policy")).json()["grace_after_signup"] == "0s"  # nothing saved

    saved = await visitor.post("/console/policy", {"csrf": csrf, **GOOD})
    assert saved.status_code == 303 and saved.headers["location"] == "/console/policy?done=policy"
    policy = (await api.get("/v1/policy")).json()
    assert policy["grace_after_signup"] == "3h" and policy["time_zone"] == "Europe/Oslo"
    assert policy["caps"] == [{"channel": "email", "max_messages": 2, "window": "1d", "since_signup": False}]
    page = (await visitor.get("/console/policy")).text
    assert '<dd data-policy="caps">2 email per 1d</dd>' in page and '<dd data-policy="grace">3h</dd>' in page

    email = f"held.{uuid.uuid4().hex[:6]}@example.com"
    signup = {"type": "signup", "contact": {"email": email}, "consent": {"marketing": True}}
    assert (await shop.system.ingest.post("/v1/events", json=signup)).status_code == 202

    async def held() -> dict[str, Any] | None:
        found = await visitor.get("/console/people", q=email)
        if found.status_code != 303:
            return None
        contact_id = found.headers["location"].rsplit("/", 1)[1]
        rows = (await api.get(f"/v1/contacts/{contact_id}/enrollments")).json()
        waiting = rows[0].get("waiting") if rows else None
        return waiting if waiting and waiting["kind"] == "policy" else None

    waiting = await eventually(held, timeout=30, what="the sign-up's welcome held by the 3h grace")
    assert waiting["step_id"] == "hello"

    editor_id = await _pool(shop).fetchval("SELECT id FROM console_users WHERE email = $1", shop.passwords["editor"][0])
    [entry] = await read_topic(shop.system.stack, AUDIT, count=1,
                               where=lambda r: r["action"] == "policy.changed" and r["via"] == "console")  # fmt: skip
    assert entry["actor"] == f"user:{editor_id}" and entry["target"] == "flow_policy"
    assert entry["detail"] == {"time_zone": "Europe/Oslo", "grace": "3h", "caps": "2 email per 1d"}
    audit = (await visitor.get("/console/audit")).text
    assert 'data-audit="policy.changed"' in audit and shop.passwords["editor"][0] in audit

    assert (await api.put("/v1/policy", json={**policy, "grace_after_signup": "10m"})).status_code == 200
    [by_key] = await read_topic(shop.system.stack, AUDIT, count=1,
                                where=lambda r: r["action"] == "policy.changed" and r["via"] == "api")  # fmt: skip
    assert by_key["actor"].startswith("key:") and by_key["detail"] == {"grace": "10m"}


async def test_only_an_admin_sets_the_test_recipients_and_a_wrong_address_is_named(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop = console_shop
    editor = Visitor(shop.url)
    try:
        await editor.sign_in(*shop.passwords["editor"])
        refused = await editor.post("/console/policy/test-recipients",
                                    {"csrf": await editor.csrf(), "addresses": "qa@shop.example"})  # fmt: skip
        assert refused.status_code == 403
    finally:
        await editor.close()
    await visitor.sign_in(*shop.passwords["admin"])
    csrf = await visitor.csrf("/console/policy")
    wrong = await visitor.post(
        "/console/policy/test-recipients", {"csrf": csrf, "addresses": "qa@shop.example\nnot-an-address"}
    )
    assert wrong.status_code == 422 and "'not-an-address' is not an email address" in unescape(wrong.text)
    assert await load_test_recipients(_pool(shop), shop.workspace_id) == []
    saved = await visitor.post(
        "/console/policy/test-recipients", {"csrf": csrf, "addresses": "QA@shop.example\nboss@shop.example\n"}
    )
    assert saved.status_code == 303
    assert await load_test_recipients(_pool(shop), shop.workspace_id) == ["boss@shop.example", "qa@shop.example"]
    page = (await visitor.get("/console/policy")).text
    assert "boss@shop.example, qa@shop.example" in page
    [entry] = await read_topic(
        shop.system.stack, AUDIT, count=1, where=lambda r: r["action"] == "test_recipients.changed"
    )
    assert entry["detail"] == {"count": "2"} and "shop.example" not in str(entry)
