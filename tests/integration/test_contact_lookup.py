"""`GET /v1/contacts?email=…` (or `phone=`, `external_id=`) on the real stack: finds the contact the shop
signed up, creates nobody and publishes nothing when nobody has the identifier, and needs contacts:read."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from shared.contract.topics import CONTACTS, EVENTS
from shared.workspaces import create_key
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def _counts(pool: asyncpg.Pool, workspace_id: str) -> tuple[int, int]:
    contacts = await pool.fetchval("SELECT count(*) FROM contacts WHERE workspace_id = $1", workspace_id)
    identities = await pool.fetchval("SELECT count(*) FROM contact_identities WHERE workspace_id = $1", workspace_id)
    return contacts, identities


async def test_a_contact_is_found_by_email_phone_or_external_id(shop: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex[:8]
    digits = str(uuid.uuid4().int)[:7]
    email, phone, external_id = f"Kari.{tag}@Example.com", f"+479{digits}", f"shop-{tag}"
    contact = {"email": email, "phone": phone, "external_id": external_id, "first_name": "Kari"}
    signup = {"type": "signup", "contact": contact, "consent": {"marketing": True}}
    assert (await shop.post("/v1/events", json=signup)).status_code == 202

    by_email = await shop.get("/v1/contacts", params={"email": email.lower()})  # addresses match case-blind
    assert by_email.status_code == 200, by_email.text
    found = by_email.json()
    assert found["profile"]["first_name"] == "Kari" and found["profile"]["email"] == email.lower()
    assert [entry["action"] for entry in found["consent_history"]], found  # the sign-up's consent, as GET by id shows
    for params in ({"phone": f"+47 9{digits[:2]} {digits[2:]}"}, {"external_id": external_id}):
        other = await shop.get("/v1/contacts", params=params)
        assert other.status_code == 200 and other.json()["contact_id"] == found["contact_id"], other.text


async def test_looking_up_an_unknown_person_creates_and_publishes_nothing(
    shop: httpx.AsyncClient, pool: asyncpg.Pool, stack: RealStack, api_key: tuple[str, str]
) -> None:
    workspace_id = api_key[0]
    nobody = f"nobody.{uuid.uuid4().hex[:8]}@example.com"
    before = await _counts(pool, workspace_id)
    missing = await shop.get("/v1/contacts", params={"email": nobody})
    assert missing.status_code == 404
    assert missing.json()["errors"] == [
        {"path": "query.email", "reason": "no contact with this email in this workspace"}
    ]
    assert await _counts(pool, workspace_id) == before
    mentions = [topic for topic in (CONTACTS, EVENTS) if await read_topic(
        stack, topic, count=1, where=lambda record: nobody in str(record), timeout=2
    )]  # fmt: skip
    assert mentions == []


async def test_a_lookup_names_exactly_one_identifier(shop: httpx.AsyncClient) -> None:
    none = await shop.get("/v1/contacts")
    two = await shop.get("/v1/contacts", params={"email": "a@example.com", "phone": "+4791234567"})
    bad = await shop.get("/v1/contacts", params={"phone": "call me"})
    assert (none.status_code, two.status_code, bad.status_code) == (422, 422, 422)
    assert none.json()["errors"][0]["path"] == "query.email"
    assert two.json()["errors"][0]["path"] == "query.phone"
    assert bad.json()["errors"][0]["path"] == "query.phone"


async def test_a_lookup_needs_the_contacts_read_scope(
    ingest_url: str, pool: asyncpg.Pool, api_key: tuple[str, str]
) -> None:
    writer = await create_key(pool, api_key[0], f"writer-{uuid.uuid4().hex[:6]}", scopes=["events:write"])
    async with httpx.AsyncClient(base_url=ingest_url, headers={"X-Api-Key": writer}) as client:
        refused = await client.get("/v1/contacts", params={"email": "kari@example.com"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this API key lacks the scope contacts:read"
