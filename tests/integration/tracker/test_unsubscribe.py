"""Unsubscribing and preferences: a GET only shows a page; a POST suppresses, once, and says so on the bus."""

from __future__ import annotations

import re

import httpx
import pytest

from shared.contract.topics import ENGAGEMENT
from shared.tokens import KeyRing, TokenKind
from tests.integration.tracker.conftest import PUBLIC_URL, Person, consent_of, suppressions_of
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def preferences_path(page: str) -> str:
    found = re.search(re.escape(PUBLIC_URL) + r"(/p/[A-Za-z0-9_.-]+)", page)
    assert found, page
    return found.group(1)


async def test_opening_the_unsubscribe_link_shows_a_confirm_page_and_changes_nothing(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    token = keys.sign(person.claims(TokenKind.UNSUB))
    response = await tracker.get(f"/u/{token}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'<form method="post" action="{PUBLIC_URL}/u/{token}">' in response.text
    assert "/p/" in response.text and "<script" not in response.text and "http://" not in response.text
    assert await suppressions_of(stack, person) == []


async def test_one_click_post_suppresses_the_address_and_publishes_unsubscribed(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    token = keys.sign(person.claims(TokenKind.UNSUB))
    first = await tracker.post(f"/u/{token}", data=ONE_CLICK, headers={"User-Agent": "GoogleOneClick/1.0"})
    again = await tracker.post(f"/u/{token}", data=ONE_CLICK, headers={"User-Agent": "GoogleOneClick/1.0"})

    assert first.status_code == again.status_code == 200
    assert "You are unsubscribed" in first.text
    rows = await suppressions_of(stack, person)
    assert [(r["scope"], r["reason"], r["source"]) for r in rows] == [("marketing", "unsubscribed", "one-click")]
    ledger, status = await consent_of(stack, person)
    assert [tuple(r) for r in ledger] == [("withdraw", "*", "one_click", "127.0.0.0/24", "GoogleOneClick/1.0")]
    assert status == "unsubscribed"
    records = await read_topic(
        stack, ENGAGEMENT, count=2, where=lambda r: r["message_id"] == person.message_id, timeout=1.5
    )
    # Two POSTs, one event id: consumers drop the repeat.
    assert {r["kind"] for r in records} == {"unsubscribed"}
    assert len({r["event_id"] for r in records}) == 1
    assert records[0]["contact_id"] == person.contact_id and records[0]["machine"] is False


async def test_the_confirm_button_unsubscribes_as_from_the_link(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    response = await tracker.post(f"/u/{keys.sign(person.claims(TokenKind.UNSUB))}", data={"confirm": "yes"})

    assert response.status_code == 200
    [row] = await suppressions_of(stack, person)
    assert row["source"] == "unsubscribe-link"


async def test_preferences_let_a_person_subscribe_again(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    unsubscribed = await tracker.post(f"/u/{keys.sign(person.claims(TokenKind.UNSUB))}", data=ONE_CLICK)
    prefs = preferences_path(unsubscribed.text)
    page = await tracker.get(prefs)
    assert "Subscribe again" in page.text

    again = await tracker.post(prefs, data={"action": "resubscribe"})

    assert again.status_code == 200 and "You are subscribed again" in again.text
    assert "Unsubscribe from everything" in again.text
    assert await suppressions_of(stack, person) == []
    ledger, status = await consent_of(stack, person)
    assert [(r["action"], r["source"]) for r in ledger] == [("withdraw", "one_click"), ("grant", "preferences")]
    assert status == "subscribed"
    [changed] = await read_topic(
        stack,
        ENGAGEMENT,
        count=1,
        where=lambda r: r["message_id"] == person.message_id and r["kind"] == "preferences_changed",
    )
    assert changed["contact_id"] == person.contact_id


async def test_unsubscribe_and_preference_links_refuse_forged_or_misused_tokens(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    click = keys.sign(person.claims(TokenKind.CLICK, "https://shop.example/"))
    for path in (f"/u/{click}", f"/p/{click}", "/u/new.AAAA.BBBB"):
        assert (await tracker.get(path)).status_code == 400
        assert (await tracker.post(path, data=ONE_CLICK)).status_code == 400
    assert await suppressions_of(stack, person) == []
