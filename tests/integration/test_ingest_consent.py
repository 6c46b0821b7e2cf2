"""Sign-up consent: proof in an append-only ledger, double opt-in by default, one confirmation per sign-up."""

from __future__ import annotations

import json
import uuid

import asyncpg
import httpx
import pytest

from shared.contract.topics import MESSAGES_REQUESTED
from shared.settings import IngestSettings
from shared.tokens import TokenKind, key_ring_from_setting
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


def signup(email: str, **consent: object) -> dict[str, object]:
    return {
        "type": "signup",
        "event_id": f"su-{uuid.uuid4().hex}",
        "contact": {"email": email, "first_name": "Kari"},
        "source": "newsletter-form",
        "consent": {
            "marketing": True,
            "topics": ["newsletter"],
            "policy_version": "2026-03",
            "ip": "203.0.113.9",
            **consent,
        },
    }


async def _rows(stack: RealStack, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(stack.database_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def test_a_signup_with_consent_is_pending_until_confirmed_and_asks_once(
    shop: httpx.AsyncClient, stack: RealStack
) -> None:
    body = signup(f"{uuid.uuid4().hex[:8]}@example.com")
    first = await shop.post("/v1/events", json=body)
    again = await shop.post("/v1/events", json=body)  # a retry of the same event
    assert first.status_code == again.status_code == 202

    contact_id = (await _rows(stack, "SELECT contact_id FROM contact_identities ORDER BY created_at DESC LIMIT 1"))[0][
        0
    ]
    ledger = await _rows(
        stack,
        "SELECT action, scope, source, ip, policy_version FROM consent_ledger WHERE contact_id = $1 ORDER BY scope",
        contact_id,
    )
    assert [tuple(row) for row in ledger] == [
        ("grant", "*", "form", "203.0.113.0/24", "2026-03"),  # the address's network, never the address
        ("grant", "channel:email", "form", "203.0.113.0/24", "2026-03"),  # a plain marketing consent: email only
        ("grant", "newsletter", "form", "203.0.113.0/24", "2026-03"),
    ]
    subscriptions = await _rows(
        stack,
        "SELECT topic, status, expires_at IS NOT NULL FROM contact_subscriptions WHERE contact_id = $1 ORDER BY topic",
        contact_id,
    )
    assert [tuple(row) for row in subscriptions] == [
        ("*", "pending", True),
        ("channel:email", "pending", True),
        ("newsletter", "pending", True),
    ]

    requests = await read_topic(stack, MESSAGES_REQUESTED, count=2, where=lambda r: r["contact_id"] == contact_id)
    assert len({request["event_id"] for request in requests}) == 1  # the retry asks again with the same id
    request = requests[0]
    assert request["category"] == "transactional" and request["template_id"] == "welcome-confirm"
    token = request["variables"]["links"]["confirm"].rsplit("/f/", 1)[1]
    keys = key_ring_from_setting(stack.settings(IngestSettings).link_signing_keys.get_secret_value())
    claims = keys.verify(token, TokenKind.CONFIRM)
    assert claims.contact_id == contact_id and claims.workspace_id == "shop-one"


async def test_without_double_opt_in_the_signup_is_subscribed_at_once(
    stack: RealStack, shop: httpx.AsyncClient
) -> None:
    connection = await asyncpg.connect(stack.database_url)
    try:
        await connection.execute(
            "INSERT INTO workspaces (id, name, settings) VALUES ('single-opt', 'Single', $1::jsonb)",
            json.dumps({"double_opt_in": False}),
        )
        from shared.workspaces import create_key

        key = await create_key(connection, "single-opt", "tests")
    finally:
        await connection.close()
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    response = await shop.post("/v1/events", json=signup(email), headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 202
    rows = await _rows(
        stack, "SELECT topic, status FROM contact_subscriptions WHERE workspace_id = 'single-opt' ORDER BY topic"
    )
    assert [tuple(row) for row in rows] == [
        ("*", "subscribed"),
        ("channel:email", "subscribed"),
        ("newsletter", "subscribed"),
    ]


async def test_a_signup_without_marketing_consent_records_nothing(shop: httpx.AsyncClient, stack: RealStack) -> None:
    body = signup(f"{uuid.uuid4().hex[:8]}@example.com", marketing=False)
    assert (await shop.post("/v1/events", json=body)).status_code == 202
    rows = await _rows(stack, "SELECT 1 FROM consent_ledger WHERE dedupe_key LIKE $1", f"{body['event_id']}%")
    assert rows == []


async def test_the_consent_ledger_cannot_be_rewritten(stack: RealStack) -> None:
    connection = await asyncpg.connect(stack.database_url)
    try:
        await connection.execute(
            "INSERT INTO consent_ledger (workspace_id, contact_id, action, scope, source, occurred_at, dedupe_key) "
            "VALUES ('shop-one', 'c-ledger', 'grant', '*', 'api', now(), 'ledger-test')"
        )
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await connection.execute("UPDATE consent_ledger SET action = 'withdraw' WHERE dedupe_key = 'ledger-test'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await connection.execute("DELETE FROM consent_ledger WHERE dedupe_key = 'ledger-test'")
    finally:
        await connection.close()


async def test_many_first_signups_at_once_never_starve_a_small_pool(stack: RealStack, api_key: tuple[str, str]) -> None:
    """Each request holds at most one connection: 40 concurrent sign-ups through a pool of 2 all land."""
    import asyncio

    from services.ingest.app import create_app
    from tests.support.servers import serving

    app = create_app(stack.settings(IngestSettings, db_pool_size=2))
    async with (
        serving(app) as url,
        httpx.AsyncClient(base_url=url, headers={"X-Api-Key": api_key[1]}, timeout=30) as shop,
    ):
        bodies = [signup(f"pool-{uuid.uuid4().hex[:8]}@example.com") for _ in range(40)]
        answers = await asyncio.wait_for(asyncio.gather(*(shop.post("/v1/events", json=b) for b in bodies)), 20)
    assert [answer.status_code for answer in answers] == [202] * 40
