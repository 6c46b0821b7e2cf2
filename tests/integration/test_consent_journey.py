"""Consent end to end on the real stack: ingest, scheduler, sender (with an SMTP inbox) and tracker together.

Double opt-in, per-topic preferences, unsubscribing, erasure and export, as a shop and a reader see them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import secrets
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.ingest.app import create_app as create_ingest
from services.ingest.domain.imports import ImportRow
from services.ingest.domain.requests import ContactIn
from services.ingest.usecases.importer import import_rows
from services.tracker.app import create_app as create_tracker
from shared.contract.topics import TRANSITIONS
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings, IngestSettings, TrackerSettings
from shared.tokens import TokenClaims, TokenKind, key_ring_from_setting
from shared.workspaces import create_key, ensure_workspace
from tests.integration.scheduler.conftest import NO_RULES, Running, publish, running_scheduler
from tests.integration.sender.conftest import Sender, eventually, running_sender
from tests.integration.test_contacts_privacy import _tables_mentioning
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.topics import RecordDict, read_topic

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "examples" / "templates"
WELCOME = (ROOT / "examples" / "flows" / "welcome-series.yaml").read_text()


@dataclass
class Services:
    stack: RealStack  # with this module's own topic prefix
    ingest_app: Any
    ingest_url: str
    scheduler: Running
    sender: Sender
    tracker_url: str
    db: asyncpg.Pool


@dataclass
class Workspace:
    id: str
    shop: httpx.AsyncClient
    scheduler: httpx.AsyncClient
    services: Services

    async def signup(self, email: str, topics: list[str], **consent: Any) -> str:
        body = {"type": "signup", "contact": {"email": email, "first_name": "Ingrid"},
                "consent": {"marketing": True, "topics": topics, **consent}}  # fmt: skip
        response = await self.shop.post("/v1/events", json=body)
        assert response.status_code == 202, response.text
        return await self.contact_of(email)

    async def contact_of(self, email: str) -> str:
        async def probe() -> str | None:
            found: str | None = await self.services.db.fetchval(
                "SELECT contact_id FROM contacts WHERE workspace_id = $1 AND profile->>'email' = $2", self.id, email
            )
            return found

        return await eventually(probe, what=f"contact {email}")

    async def transitions(self, count: int, contact_id: str, **match: str) -> list[RecordDict]:
        return await read_topic(
            self.services.stack, TRANSITIONS, count=count, timeout=15,
            where=lambda r: r["workspace_id"] == self.id and r["contact_id"] == contact_id
            and all(r.get(k) == v for k, v in match.items()),
        )  # fmt: skip

    async def subscriptions(self, contact_id: str) -> dict[str, str]:
        rows = await self.services.db.fetch(
            "SELECT topic, status FROM contact_subscriptions WHERE workspace_id = $1 AND contact_id = $2",
            self.id,
            contact_id,
        )
        return {row["topic"]: row["status"] for row in rows}

    def link(self, kind: TokenKind, contact_id: str) -> str:
        """A link as the sender signs it into every marketing email (message and step are made up)."""
        keys = key_ring_from_setting(self.services.stack.settings(CommonSettings).link_signing_keys)
        claims = TokenClaims(kind, f"m-{uuid.uuid4().hex[:8]}", self.id, contact_id, int(time.time()), "f", "s")
        return f"{self.services.tracker_url}/{kind.value[0]}/{keys.sign(claims)}"


@pytest.fixture(scope="module")
async def services(stack: RealStack) -> AsyncIterator[Services]:
    """All four services on topics of this module's own, so its sender and scheduler see every record."""
    prefix = f"{stack.topic_prefix}consent{secrets.token_hex(2)}."
    own = dataclasses.replace(stack, topic_prefix=prefix)
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    keys = stack.settings(CommonSettings).link_signing_keys
    ingest = create_ingest(stack.settings(IngestSettings, topic_prefix=prefix))
    tracker = create_tracker(stack.settings(TrackerSettings, topic_prefix=prefix, tracker_flush_interval_ms=20))
    db = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=4)
    assert db is not None
    try:
        async with (
            serving(ingest) as ingest_url,
            serving(tracker) as tracker_url,
            running_scheduler(stack, topic_prefix=prefix) as scheduler,
            running_sender(stack, "unused", topic_prefix=prefix, link_signing_keys=keys) as sender,
        ):
            yield Services(own, ingest, ingest_url, scheduler, sender, tracker_url, db)
    finally:
        await db.close()


async def _workspace(services: Services, **settings: Any) -> AsyncIterator[Workspace]:
    workspace_id = f"consent-{secrets.token_hex(4)}"
    connection = await asyncpg.connect(services.stack.database_url)
    try:
        await ensure_workspace(connection, workspace_id, "Consent test shop")
        key = await create_key(connection, workspace_id, "tests")
        await connection.execute(
            "UPDATE workspaces SET settings = $2::jsonb WHERE id = $1",
            workspace_id,
            json.dumps({"flow_policy": NO_RULES, **settings}),
        )
    finally:
        await connection.close()
    for path in TEMPLATES.glob("*.yaml"):
        await services.sender.runtime.templates.publish(workspace_id, path.read_text())
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(base_url=services.ingest_url, headers=headers, timeout=30) as shop,
        httpx.AsyncClient(base_url=services.scheduler.url, headers=headers, timeout=30) as scheduler,
    ):
        for topic, name in (("newsletter", "Newsletter"), ("offers", "Offers"), ("news", "Product news")):
            assert (await shop.put(f"/v1/topics/{topic}", json={"name": name})).status_code == 200
        yield Workspace(workspace_id, shop, scheduler, services)


@pytest.fixture
async def doi_shop(services: Services) -> AsyncIterator[Workspace]:
    """Double opt-in on (the default) with the welcome series published."""
    async for workspace in _workspace(services):
        await publish(workspace.scheduler, WELCOME)
        yield workspace


@pytest.fixture
async def shop(services: Services) -> AsyncIterator[Workspace]:
    """Double opt-in off: a sign-up with consent is subscribed at once."""
    async for workspace in _workspace(services, double_opt_in=False):
        yield workspace


def _waiting_flow(flow_id: str, topic: str, wait: str) -> str:
    return textwrap.dedent(f"""
        id: {flow_id}
        name: {flow_id}
        topic: {topic}
        triggers: [{{type: event, event: signup}}]
        steps:
          - {{id: later, type: wait, duration: {wait}}}
          - {{id: mail, type: send, template: welcome-hello}}
        """)


def _confirm_link(services: Services, html: str) -> str:
    found = re.search(r'href="([^"]+/f/[^"]+)"', html)
    assert found, html
    public = services.stack.settings(CommonSettings).tracker_public_url.rstrip("/")
    return unescape(found.group(1)).replace(public, services.tracker_url)


def _signed_up(status: str) -> dict[str, str]:
    """A sign-up's subscriptions: marketing, its email channel (a plain consent) and the newsletter."""
    return dict.fromkeys(["*", "channel:email", "newsletter"], status)


async def test_a_signup_without_confirmation_gets_only_the_confirmation_and_confirming_starts_the_welcome(
    doi_shop: Workspace, services: Services
) -> None:
    email = f"doi.{uuid.uuid4().hex[:8]}@example.com"
    proof = {"ip": "203.0.113.9", "user_agent": "FormBrowser/1", "policy_version": "2026-03"}
    contact_id = await doi_shop.signup(email, ["newsletter"], **proof)

    [held] = await doi_shop.transitions(1, contact_id, kind="held")
    assert (held["flow_id"], held["reason"]) == ("welcome-series", "awaiting confirmation")
    [confirmation] = await eventually(lambda: _mails(services, email), what="the confirmation email")
    assert "confirm" in confirmation.subject.lower()
    await _still(services, email, 1)  # nothing else while unconfirmed
    assert await doi_shop.subscriptions(contact_id) == _signed_up("pending")

    link = _confirm_link(services, confirmation.part("html") or "")
    async with httpx.AsyncClient(headers={"User-Agent": "ReaderPhone/2"}) as browser:
        page = await browser.get(link)  # what a link scanner does: nothing changes
        assert page.status_code == 200 and 'method="post"' in page.text
        assert await doi_shop.subscriptions(contact_id) == _signed_up("pending")
        confirmed = await browser.post(link, data={"confirm": "yes"})
        assert confirmed.status_code == 200 and "confirmed" in confirmed.text
        again = await browser.post(link, data={"confirm": "yes"})  # idempotent
        assert again.status_code == 200

    assert await doi_shop.subscriptions(contact_id) == _signed_up("subscribed")
    await eventually(lambda: _mails(services, email, 2), what="the welcome email", timeout=15)
    await _still(services, email, 2)
    [entered] = await doi_shop.transitions(1, contact_id, kind="entered")
    assert entered["flow_id"] == "welcome-series"

    history = (await doi_shop.shop.get(f"/v1/contacts/{contact_id}")).json()["consent_history"]
    rows = [(h["action"], h["scope"], h["source"]) for h in history]
    assert sorted(rows) == sorted([
        ("grant", "*", "form"), ("grant", "channel:email", "form"), ("grant", "newsletter", "form"),
        ("confirm", "*", "double_opt_in"), ("confirm", "channel:email", "double_opt_in"),
        ("confirm", "newsletter", "double_opt_in"),
    ])  # fmt: skip
    confirms = [h for h in history if h["action"] == "confirm"]
    assert {(h["user_agent"], h["ip"] is not None) for h in confirms} == {("ReaderPhone/2", True)}
    grants = [h for h in history if h["action"] == "grant"]
    assert {(h["ip"], h["user_agent"], h["policy_version"]) for h in grants} == {
        ("203.0.113.0/24", "FormBrowser/1", "2026-03")  # the address's network, never the address
    }


async def test_an_unconfirmed_signup_expires_and_its_held_flow_never_starts(services: Services) -> None:
    async for workspace in _workspace(services, double_opt_in_expiry_hours=0.0001):  # 0.36 s
        await publish(workspace.scheduler, WELCOME)
        email = f"late.{uuid.uuid4().hex[:8]}@example.com"
        contact_id = await workspace.signup(email, ["newsletter"])
        await workspace.transitions(1, contact_id, kind="held")
        [confirmation] = await eventually(lambda: _mails(services, email), what="the confirmation email")  # noqa: B023
        await asyncio.sleep(0.4)

        await services.scheduler.app.state.scheduler.timers.expire_unconfirmed()  # what the loop does each minute
        assert await workspace.subscriptions(contact_id) == _signed_up("expired")
        held = await services.db.fetchval("SELECT count(*) FROM held_entries WHERE contact_id = $1", contact_id)
        assert held == 0
        async with httpx.AsyncClient() as browser:
            page = await browser.post(_confirm_link(services, confirmation.part("html") or ""))
        assert "expired" in page.text
        assert await workspace.subscriptions(contact_id) == _signed_up("expired")
        history = (await workspace.shop.get(f"/v1/contacts/{contact_id}")).json()["consent_history"]
        assert {(h["action"], h["scope"]) for h in history if h["action"] == "expire"} == {
            ("expire", "*"),
            ("expire", "channel:email"),
            ("expire", "newsletter"),
        }
        await _still(services, email, 1)


async def test_a_preference_change_stops_one_topics_flow_but_not_anothers(shop: Workspace, services: Services) -> None:
    await publish(shop.scheduler, _waiting_flow("offers-flow", "offers", "3s"))
    await publish(shop.scheduler, _waiting_flow("news-flow", "news", "3s"))
    email = f"prefs.{uuid.uuid4().hex[:8]}@example.com"
    contact_id = await shop.signup(email, ["offers", "news"])
    await shop.transitions(2, contact_id, kind="entered")

    preferences = shop.link(TokenKind.PREFS, contact_id)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(preferences)
        # three topics and four channels; the two topics chosen and email (the sign-up's plain consent) ticked
        assert page.text.count('type="checkbox"') == 7 and page.text.count(" checked") == 3
        saved = await browser.post(preferences, data={"action": "topics", "topic": ["news"]})
        assert "saved" in saved.text

    [stopped] = await shop.transitions(1, contact_id, kind="exited", flow_id="offers-flow")
    assert stopped["reason"] == "contact unsubscribed from offers"
    [mail] = await eventually(lambda: _mails(services, email), what="the news email", timeout=15)
    await _still(services, email, 1)
    sent = await services.db.fetch("SELECT flow_id FROM send_ledger WHERE contact_id = $1", contact_id)
    assert [row["flow_id"] for row in sent] == ["news-flow"]
    history = (await shop.shop.get(f"/v1/contacts/{contact_id}")).json()["consent_history"]
    assert ("withdraw", "offers", "preferences") in {(h["action"], h["scope"], h["source"]) for h in history}


async def test_unsubscribing_cancels_pending_steps_of_every_flow_within_seconds(
    shop: Workspace, services: Services
) -> None:
    await publish(shop.scheduler, _waiting_flow("first", "offers", "1h"))
    await publish(shop.scheduler, _waiting_flow("second", "news", "1h"))
    contact_id = await shop.signup(f"leave.{uuid.uuid4().hex[:8]}@example.com", ["offers", "news"])
    await shop.transitions(2, contact_id, kind="entered")

    async with httpx.AsyncClient() as provider:
        started = time.monotonic()
        answer = await provider.post(shop.link(TokenKind.UNSUB, contact_id), data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200
        exits = await shop.transitions(2, contact_id, kind="exited")
    assert time.monotonic() - started < 5
    assert {(e["flow_id"], e["reason"]) for e in exits} == {("first", "unsubscribed"), ("second", "unsubscribed")}
    timers = await services.db.fetchval(
        "SELECT count(*) FROM timers WHERE contact_id = $1 AND kind = 'step'", contact_id
    )
    assert timers == 0
    history = (await shop.shop.get(f"/v1/contacts/{contact_id}")).json()["consent_history"]
    assert [(h["action"], h["scope"], h["source"]) for h in history if h["action"] == "withdraw"] == [
        ("withdraw", "*", "one_click")
    ]


async def test_export_then_erasure_after_flows_ran_leaves_no_personal_data_and_reimport_is_suppressed(
    shop: Workspace, services: Services
) -> None:
    await publish(shop.scheduler, _waiting_flow("now", "offers", "0s"))
    created = await shop.scheduler.post(
        "/v1/segments",
        json={"id": "offer-fans", "name": "Offer fans", "condition": 'history.count("signup", "30d") >= 1'},
    )
    assert created.status_code == 201, created.text
    email = f"forget.{uuid.uuid4().hex[:8]}@example.com"
    contact_id = await shop.signup(email, ["offers"], ip="198.51.100.77", user_agent="EraseMe/1")
    await eventually(lambda: _mails(services, email), what="the flow's email")
    assert (await shop.scheduler.get("/v1/segments/offer-fans")).json()["members"] == 1

    exported = (await shop.shop.get(f"/v1/contacts/{contact_id}/export")).json()["data"]
    assert exported["contacts"][0]["profile"]["email"] == email
    for table in ("consent_ledger", "contact_subscriptions", "contact_history", "enrollments", "send_ledger"):
        assert exported.get(table), f"export lacks {table}"
    assert exported["segment_members"][0]["segment_id"] == "offer-fans"

    erased = await shop.shop.delete(f"/v1/contacts/{contact_id}")
    assert erased.status_code == 200

    async def enrollments_gone() -> bool:
        return not await services.db.fetchval("SELECT count(*) FROM enrollments WHERE contact_id = $1", contact_id)

    await eventually(enrollments_gone, what="the scheduler to forget the contact")
    assert await _tables_mentioning(services.stack, email) == []
    assert await _tables_mentioning(services.stack, "198.51.100.77") == []
    assert await _tables_mentioning(services.stack, "EraseMe/1") == []
    assert (await shop.scheduler.get("/v1/segments/offer-fans")).json()["members"] == 0

    intake = services.ingest_app.state.intake
    row = ImportRow(line=2, contact=ContactIn(email=email), consent=True, topics=["offers"])
    report = await import_rows(intake, services.db, shop.id, [row], batch_id="again", policy_version=None)
    assert report.imported == 0 and "suppressed" in report.rejected[0].reason


async def _mails(services: Services, email: str, count: int = 1) -> list[Any] | None:
    found = services.sender.mails_to(email)
    return found if len(found) >= count else None


async def _still(services: Services, email: str, count: int, seconds: float = 1.5) -> None:
    """Exactly `count` mails reached the address, and no more arrive within `seconds`."""
    await asyncio.sleep(seconds)
    assert len(services.sender.mails_to(email)) == count
