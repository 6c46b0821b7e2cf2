"""A running tracker on the real stack, and tokens signed the way the sender signs them."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from services.tracker.app import create_app
from shared.identity import identifier_hash
from shared.settings import TrackerSettings
from shared.tokens import KeyRing, TokenClaims, TokenKind, key_ring_from_setting
from tests.support.servers import serving
from tests.support.stack import RealStack

# The second key is the one being rotated out: links signed with it must keep working.
SIGNING_KEYS = "new:tracker-test-secret-0123456789,old:previous-test-secret-0123456789"
PUBLIC_URL = "https://t.shop.example"


@pytest.fixture(scope="session")
def keys() -> KeyRing:
    return key_ring_from_setting(SIGNING_KEYS)


@pytest.fixture(scope="session")
def old_keys() -> KeyRing:
    return key_ring_from_setting(SIGNING_KEYS.split(",")[1])


def tracker_settings(stack: RealStack, **overrides: object) -> TrackerSettings:
    values: dict[str, object] = {
        "link_signing_keys": SIGNING_KEYS,
        "tracker_public_url": PUBLIC_URL,
        "tracker_flush_interval_ms": 20,
        "shutdown_grace_seconds": 5.0,
    }
    return stack.settings(TrackerSettings, **{**values, **overrides})


@pytest.fixture(scope="session")
async def tracker(stack: RealStack) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serving(create_app(tracker_settings(stack))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


@dataclass(frozen=True)
class Person:
    """A contact with an address, and one message sent to them from a flow step."""

    workspace_id: str
    contact_id: str
    email: str
    message_id: str

    def claims(self, kind: TokenKind, url: str | None = None, *, issued_at: float | None = None) -> TokenClaims:
        issued = int(issued_at if issued_at is not None else time.time() - 3600)
        return TokenClaims(kind, self.message_id, self.workspace_id, self.contact_id, issued, "welcome", "s1", url)

    def address_hash(self) -> bytes:
        return identifier_hash(self.workspace_id, "email", self.email)


@pytest.fixture
async def person(stack: RealStack) -> Person:
    """A fresh contact, stored the way ingest stores one (profile and email identity)."""
    tag = uuid.uuid4().hex[:10]
    found = Person("shop-one", f"c-{tag}", f"Reader.{tag}@Example.com".lower(), f"m-{tag}")
    connection = await asyncpg.connect(stack.database_url)
    try:
        await connection.execute(
            "INSERT INTO contacts (workspace_id, contact_id, profile) "
            "VALUES ($1, $2, jsonb_build_object('email', $3::text))",
            found.workspace_id,
            found.contact_id,
            found.email,
        )
        await connection.execute(
            "INSERT INTO contact_identities (workspace_id, kind, value_hash, contact_id) VALUES ($1, 'email', $2, $3)",
            found.workspace_id,
            found.address_hash(),
            found.contact_id,
        )
    finally:
        await connection.close()
    return found


async def suppressions_of(stack: RealStack, person: Person) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(stack.database_url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(
            "SELECT scope, reason, source FROM suppressions WHERE workspace_id = $1 AND address_hash = $2",
            person.workspace_id,
            person.address_hash(),
        )
        return rows
    finally:
        await connection.close()


async def consent_of(stack: RealStack, person: Person) -> tuple[list[asyncpg.Record], str | None]:
    """The person's ledger entries (oldest first) and their `*` subscription status."""
    connection = await asyncpg.connect(stack.database_url)
    try:
        ledger: list[asyncpg.Record] = await connection.fetch(
            "SELECT action, scope, source, ip, user_agent FROM consent_ledger"
            " WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id",
            person.workspace_id,
            person.contact_id,
        )
        status: str | None = await connection.fetchval(
            "SELECT status FROM contact_subscriptions WHERE workspace_id = $1 AND contact_id = $2 AND topic = '*'",
            person.workspace_id,
            person.contact_id,
        )
        return ledger, status
    finally:
        await connection.close()
