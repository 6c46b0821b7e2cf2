"""The tracker's pages on the real stack: every page forbids framing, sniffing and anything but its own
style; HEAD shows a page like GET and changes nothing; consent-granting links expire, unsubscribe links don't."""

from __future__ import annotations

import re
import time

import asyncpg
import httpx
import pytest

from shared.tokens import KeyRing, TokenKind
from tests.integration.tracker.conftest import PUBLIC_URL, Person, consent_of, suppressions_of
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack

DAY = 86_400
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def assert_guarded(response: httpx.Response) -> None:
    """The headers every HTML page of the tracker carries."""
    assert response.headers["content-type"].startswith("text/html"), response.headers
    policy = response.headers["content-security-policy"]
    for directive in ("default-src 'none'", "style-src 'sha256-", "form-action 'self'", "frame-ancestors 'none'"):
        assert directive in policy, policy
    assert "unsafe" not in policy and "script-src" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "no-store" in response.headers["cache-control"]


def preferences_path(page: str) -> str:
    found = re.search(re.escape(PUBLIC_URL) + r"(/p/[A-Za-z0-9_.-]+)", page)
    assert found, page
    return found.group(1)


def respelled(token: str) -> str:
    """The same token with the MAC's last character swapped for one that decodes to the same bytes."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]


async def pending_signup(stack: RealStack, person: Person) -> None:
    connection = await asyncpg.connect(stack.database_url)
    try:
        await connection.execute(
            "INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status, expires_at) "
            "VALUES ($1, $2, '*', 'pending', now() + interval '1 day')",
            person.workspace_id,
            person.contact_id,
        )
    finally:
        await connection.close()


async def test_every_page_and_refusal_carries_the_page_headers(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    unsub = keys.sign(person.claims(TokenKind.UNSUB))
    click = keys.sign(person.claims(TokenKind.CLICK, "https://shop.example/"))
    old_confirm = keys.sign(person.claims(TokenKind.CONFIRM, issued_at=time.time() - 8 * DAY))
    pages = {
        "unsubscribe": await tracker.get(f"/u/{unsub}"),
        "preferences": await tracker.get(f"/p/{keys.sign(person.claims(TokenKind.PREFS))}"),
        "confirm": await tracker.get(f"/f/{keys.sign(person.claims(TokenKind.CONFIRM))}"),
        "unsubscribed": await tracker.post(f"/u/{unsub}", data=ONE_CLICK),
        "expired": await tracker.get(f"/f/{old_confirm}"),
        **{f"invalid {path}": await tracker.get(f"/{path}/{click}") for path in ("u", "p", "f", "o")},
        "invalid click": await tracker.get(f"/c/{unsub}"),
    }
    for name, response in pages.items():
        assert response.status_code == (400 if name.startswith(("invalid", "expired")) else 200), name
        assert_guarded(response)


async def test_head_answers_like_get_without_a_body_and_changes_nothing(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    await pending_signup(stack, person)
    paths = [
        f"/u/{keys.sign(person.claims(TokenKind.UNSUB))}",
        f"/p/{keys.sign(person.claims(TokenKind.PREFS))}",
        f"/f/{keys.sign(person.claims(TokenKind.CONFIRM))}",
    ]
    for path in paths:
        get, head = await tracker.get(path), await tracker.head(path)
        assert (get.status_code, head.status_code) == (200, 200), path
        assert head.content == b"" and head.headers["content-length"] == str(len(get.content))
        assert_guarded(head)
    assert await suppressions_of(stack, person) == []
    assert await consent_of(stack, person) == ([], "pending")


async def test_a_respelled_token_is_refused_on_every_path(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    unsub = keys.sign(person.claims(TokenKind.UNSUB))
    assert respelled(unsub) != unsub
    assert (await tracker.get(f"/u/{respelled(unsub)}")).status_code == 400
    assert (await tracker.post(f"/u/{respelled(unsub)}", data=ONE_CLICK)).status_code == 400
    for kind, path in ((TokenKind.OPEN, "o"), (TokenKind.CLICK, "c")):
        url = "https://shop.example/" if kind is TokenKind.CLICK else None
        assert (await tracker.get(f"/{path}/{respelled(keys.sign(person.claims(kind, url)))}")).status_code == 400
    assert await suppressions_of(stack, person) == []


async def test_a_confirm_link_past_its_age_answers_expired_and_confirms_nothing(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    await pending_signup(stack, person)
    token = keys.sign(person.claims(TokenKind.CONFIRM, issued_at=time.time() - 7 * DAY - 60))
    for response in (await tracker.get(f"/f/{token}"), await tracker.post(f"/f/{token}", data={"confirm": "yes"})):
        assert response.status_code == 400
        assert "This link has expired" in response.text
    assert await consent_of(stack, person) == ([], "pending")


async def test_an_unsubscribe_link_still_works_89_days_after_sending(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    token = keys.sign(person.claims(TokenKind.UNSUB, issued_at=time.time() - 89 * DAY))
    assert (await tracker.get(f"/u/{token}")).status_code == 200
    response = await tracker.post(f"/u/{token}", data=ONE_CLICK)

    assert response.status_code == 200 and "You are unsubscribed" in response.text
    [row] = await suppressions_of(stack, person)
    assert (row["scope"], row["reason"], row["source"]) == ("marketing", "unsubscribed", "one-click")


async def test_an_old_email_cannot_subscribe_a_person_again(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    unsubscribed = await tracker.post(
        f"/u/{keys.sign(person.claims(TokenKind.UNSUB, issued_at=time.time() - 8 * DAY))}", data=ONE_CLICK
    )
    # The preferences link minted on the page keeps the email's age, so it is no fresh resubscribe link.
    prefs = preferences_path(unsubscribed.text)
    page = await tracker.get(prefs)
    assert page.status_code == 200 and "Subscribe again" not in page.text
    refused = await tracker.post(prefs, data={"action": "resubscribe"})

    assert refused.status_code == 400 and "This link has expired" in refused.text
    assert len(await suppressions_of(stack, person)) == 1
    ledger, status = await consent_of(stack, person)
    assert [r["action"] for r in ledger] == ["withdraw"] and status == "unsubscribed"
