"""A contact as a person (and an auditor) sees them: overview, export, and erasure that leaves nothing behind."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from shared.contact_data import is_suppressed
from shared.contract.topics import CONTACTS
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def _signup(shop: httpx.AsyncClient, email: str, ip: str = "198.51.100.7") -> str:
    body = {
        "type": "signup",
        "contact": {"email": email, "first_name": "Astrid", "phone": f"+47{uuid.uuid4().int % 10**8:08d}"},
        "source": "footer-form",
        "consent": {"marketing": True, "topics": ["newsletter"], "ip": ip, "user_agent": "Firefox"},
    }
    assert (await shop.post("/v1/events", json=body)).status_code == 202
    identified = await shop.post("/v1/contacts", json={"email": email, "attributes": {"shoe_size": 38}})
    return str(identified.json()["contact_id"])


async def test_a_contact_shows_profile_subscriptions_and_consent(shop: httpx.AsyncClient) -> None:
    contact_id = await _signup(shop, f"{uuid.uuid4().hex[:8]}@example.com")
    response = await shop.get(f"/v1/contacts/{contact_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["profile"]["first_name"] == "Astrid" and body["profile"]["attributes"] == {"shoe_size": 38}
    assert {(s["topic"], s["status"]) for s in body["subscriptions"]} == {
        ("*", "pending"),
        ("channel:email", "pending"),  # a plain marketing consent is an email grant
        ("newsletter", "pending"),
    }
    assert [(c["action"], c["scope"], c["source"]) for c in body["consent_history"]] == [
        ("grant", "*", "form"),
        ("grant", "channel:email", "form"),
        ("grant", "newsletter", "form"),
    ]
    assert (await shop.get("/v1/contacts/nobody")).status_code == 404


async def test_export_returns_everything_held(shop: httpx.AsyncClient) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    contact_id = await _signup(shop, email)
    response = await shop.get(f"/v1/contacts/{contact_id}/export")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["contacts"][0]["profile"]["email"] == email
    assert {row["topic"] for row in data["contact_subscriptions"]} == {"*", "channel:email", "newsletter"}
    assert len(data["consent_ledger"]) == 3 and data["consent_ledger"][0]["ip"] == "198.51.100.0/24"  # the network
    assert {row["kind"] for row in data["contact_identities"]} == {"email", "phone"}


async def test_erasure_leaves_no_personal_data_in_any_table_and_blocks_reimport(
    shop: httpx.AsyncClient, stack: RealStack
) -> None:
    email = f"erase-{uuid.uuid4().hex[:8]}@example.com"
    ip = f"2001:db8::{uuid.uuid4().hex[:4]}"
    contact_id = await _signup(shop, email, ip)
    assert await _tables_mentioning(stack, email)  # the scan can find it while it is there

    response = await shop.delete(f"/v1/contacts/{contact_id}")
    assert response.status_code == 200
    assert response.json()["removed"]["contacts"] == 1

    assert await _tables_mentioning(stack, email) == []
    assert await _tables_mentioning(stack, ip) == []  # the ledger keeps proof, not the IP
    # The ledger keeps proof under the contact id. A sender may still record the sign-up's confirmation
    # request, if it was on its way, as not sent: that row names the id only, never the person. The audit
    # log's contact.erased entry names the id too: the proof that the erasure was done.
    assert set(await _tables_mentioning(stack, contact_id)) <= {"consent_ledger", "send_ledger", "audit_log"}
    [tombstone] = await read_topic(
        stack, CONTACTS, count=1, where=lambda r: r["__key__"] == f"shop-one/{contact_id}" and "__tombstone__" in r
    )
    assert tombstone["__headers__"] == {"op": "erase", "workspace-id": "shop-one", "contact-id": contact_id}

    connection = await asyncpg.connect(stack.database_url)
    try:
        assert await is_suppressed(connection, "shop-one", email)
    finally:
        await connection.close()
    again = await shop.delete(f"/v1/contacts/{contact_id}")  # erasing twice is harmless
    assert again.status_code == 200


async def _tables_mentioning(stack: RealStack, needle: str) -> list[str]:
    """Every table with a text-like column containing `needle` (case-insensitive): one scan per table."""
    connection = await asyncpg.connect(stack.database_url)
    try:
        columns = await connection.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'jsonb', 'json')"
        )
        by_table: dict[str, list[str]] = {}
        for row in columns:
            by_table.setdefault(row["table_name"], []).append(row["column_name"])
        found = []
        for table, names in sorted(by_table.items()):
            anywhere = " OR ".join(f'"{name}"::text ILIKE $1' for name in names)
            if await connection.fetchval(f'SELECT 1 FROM "{table}" WHERE {anywhere} LIMIT 1', f"%{needle}%"):
                found.append(table)
        return found
    finally:
        await connection.close()
