"""Re-engagement on the real stack: a subscriber whose last open is 100 days old enters the shipped
`unengaged-subscribers` segment and the `re-engagement` flow, gets the last-chance email, stays silent,
and is unsubscribed from marketing with `sunset` in the consent ledger; a later marketing email goes to
a subscriber who still reads, and not to them.

The 100 days are the one thing the test cannot wait for: it writes the old open into the contact's facts
(as the scheduler would have folded it back then), then a product view makes the facts change now."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import yaml

from shared.identity import identifier_hash
from tests.integration.scheduler.conftest import publish
from tests.integration.sender.conftest import EXAMPLES, eventually
from tests.support.stack import ROOT, RealStack
from tests.support.system import System, running_system

pytestmark = pytest.mark.stack

NEWS_TEMPLATE = """
id: news-issue
category: marketing
locale: en
subject: "This month's news"
html: "<p>Hi {{ contact.first_name }}, here is what is new this month.</p>"
"""
NEWS_FLOW = """
id: shop-news
name: Monthly news
topic: newsletter
triggers:
  - type: api
steps:
  - id: issue
    type: send
    template: news-issue
"""


@pytest.fixture(scope="module")
async def system(stack: RealStack) -> AsyncIterator[System]:
    async with running_system(stack, "reengage") as running:
        templates = running.sender.runtime.templates
        await templates.publish(running.workspace_id, (EXAMPLES / "reengage-last-chance.yaml").read_text())
        await templates.publish(running.workspace_id, NEWS_TEMPLATE)
        # The shipped flow with seconds instead of two weeks to answer the last chance: the test's own copy.
        flow = (ROOT / "examples" / "flows" / "re-engagement.yaml").read_text()
        assert "timeout: 14d" in flow
        await publish(running.scheduler, flow.replace("timeout: 14d", "timeout: 3s"))
        await publish(running.scheduler, NEWS_FLOW)
        segment = yaml.safe_load((ROOT / "examples" / "segments" / "unengaged-subscribers.yaml").read_text())
        saved = await running.scheduler.post("/v1/segments", json=segment)
        assert saved.status_code == 201, saved.text
        yield running


async def _subscriber(system: System, name: str) -> tuple[str, str]:
    email = f"{name.lower()}.{uuid.uuid4().hex[:8]}@example.com"
    consent = {"marketing": True, "topics": ["newsletter"]}
    signup = {"type": "signup", "contact": {"email": email, "first_name": name}, "consent": consent}
    assert (await system.ingest.post("/v1/events", json=signup)).status_code == 202
    workspace, db = system.workspace_id, system.sender.db
    query = "SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND kind = 'email' AND value_hash = $2"

    async def known() -> str | None:
        found: str | None = await db.fetchval(query, workspace, identifier_hash(workspace, "email", email))
        return found

    return email, await eventually(known, timeout=15, what=f"{name}'s contact")


async def _stopped_opening_100_days_ago(system: System, contact_id: str) -> None:
    db, workspace = system.sender.db, system.workspace_id
    seen = "SELECT last_seen_at FROM contact_facts WHERE workspace_id = $1 AND contact_id = $2"
    await eventually(lambda: db.fetchval(seen, workspace, contact_id), timeout=15, what="the sign-up in the facts")
    await db.execute(
        "UPDATE contact_facts SET last_open_at = now() - interval '100 days' "
        "WHERE workspace_id = $1 AND contact_id = $2",
        workspace,
        contact_id,
    )


async def test_a_subscriber_who_stopped_opening_gets_a_last_chance_then_is_sunset(system: System) -> None:
    email, contact_id = await _subscriber(system, "Kari")
    await _stopped_opening_100_days_ago(system, contact_id)
    look = {"type": "product_viewed", "contact": {"email": email}, "name": "Wool socks"}
    assert (await system.ingest.post("/v1/events", json=look)).status_code == 202

    async def last_chance() -> list[str] | None:
        return [" ".join((mail.part("plain") or "").split()) for mail in system.sender.mails_to(email)] or None

    [text] = await eventually(last_chance, timeout=30, what="the last-chance email")
    assert text.startswith("One click keeps you on the list. Hi Kari, We have not seen you open our emails")
    assert "Keep me on the list:" in text

    ledger = (
        "SELECT action, scope, source FROM consent_ledger WHERE workspace_id = $1 AND contact_id = $2 "
        "AND source = 'sunset'"
    )
    rows = await eventually(
        lambda: system.sender.db.fetch(ledger, system.workspace_id, contact_id), timeout=30, what="the sunset"
    )
    assert [tuple(row) for row in rows] == [("withdraw", "*", "sunset")]
    status = "SELECT status FROM contact_subscriptions WHERE workspace_id = $1 AND contact_id = $2 AND topic = '*'"
    assert await system.sender.db.fetchval(status, system.workspace_id, contact_id) == "unsubscribed"

    # The next marketing email reaches a reader who still subscribes, and not the sunset one.
    reader_email, reader = await _subscriber(system, "Ola")
    answers: dict[str, dict[str, object]] = {}
    for who in (contact_id, reader):
        body = {"flow_id": "shop-news", "contact_id": who, "event_id": f"news-{uuid.uuid4().hex}"}
        answers[who] = (await system.scheduler.post("/v1/enrollments", json=body)).json()

    async def news() -> list[str] | None:
        return [mail.subject for mail in system.sender.mails_to(reader_email)] or None

    assert await eventually(news, timeout=30, what="the news to Ola") == ["This month's news"]
    assert answers[reader]["entered"] is True
    assert (answers[contact_id]["entered"], answers[contact_id]["reason"]) == (False, "contact unsubscribed")
    assert [mail.subject for mail in system.sender.mails_to(email)] == ["Do you still want to hear from us?"]
