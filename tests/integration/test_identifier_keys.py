"""`dripline migrate` carries stored identifier hashes to the configured keys: the bare SHA-256 kept before
keys existed, and later a key added at the end; a service refuses keys that are not the database's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic import command
from pydantic import SecretStr

from dripline.devstack.postgres import drop_database, ensure_database, with_database
from shared.db.migrate import alembic_config, apply_identifier_keys
from shared.identity import bare_hash, identifier_keys_from_setting
from shared.identity_keys import KeysMismatch, check_keys
from shared.settings import CommonSettings
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack

FIRST = "k1:first-secret-0123456789abcdef0123456789"
SECOND = "k2:second-secret-0123456789abcdef012345678"


@pytest.fixture
async def fresh(stack: RealStack) -> AsyncIterator[tuple[CommonSettings, asyncpg.Connection]]:
    """A database migrated the way an older release left it: schema at heads, hashes still bare."""
    url = with_database(stack.database_url, f"dripline_keys_{uuid.uuid4().hex[:8]}")
    await ensure_database(url)
    settings = stack.settings(CommonSettings, database_url=url)
    await asyncio.to_thread(command.upgrade, alembic_config(settings), "heads")
    connection = await asyncpg.connect(url)
    try:
        yield settings, connection
    finally:
        await connection.close()
        await drop_database(url)


async def _stored(connection: asyncpg.Connection) -> tuple[bytes, bytes]:
    identity = await connection.fetchval("SELECT value_hash FROM contact_identities WHERE contact_id = 'c1'")
    suppressed = await connection.fetchval("SELECT address_hash FROM suppressions WHERE reason = 'erased'")
    return bytes(identity), bytes(suppressed)


async def test_bare_hashes_are_keyed_then_carried_to_an_added_key(
    fresh: tuple[CommonSettings, asyncpg.Connection],
) -> None:
    settings, connection = fresh
    await connection.execute(
        "INSERT INTO contact_identities (workspace_id, kind, value_hash, contact_id) VALUES ('w', 'phone', $1, 'c1')",
        bare_hash("w", "phone", "+4791234567"),
    )
    await connection.execute(
        "INSERT INTO suppressions (workspace_id, address_hash, scope, reason, source) "
        "VALUES ('w', $1, 'all', 'erased', 'erasure')",
        bare_hash("w", "email", "erased@example.com"),
    )

    assert await apply_identifier_keys(settings.model_copy(update={"identifier_keys": SecretStr(FIRST)})) == ["k1"]
    one = identifier_keys_from_setting(FIRST)
    assert await _stored(connection) == (
        one.hash("w", "phone", "+4791234567"),
        one.hash("w", "email", "erased@example.com"),
    )
    await check_keys(connection, one)

    both = identifier_keys_from_setting(f"{FIRST},{SECOND}")
    with pytest.raises(KeysMismatch, match="run `dripline migrate`"):
        await check_keys(connection, both)  # a service with the new key before the migration ran
    assert await apply_identifier_keys(
        settings.model_copy(update={"identifier_keys": SecretStr(f"{FIRST},{SECOND}")})
    ) == ["k2"]
    assert await _stored(connection) == (
        both.hash("w", "phone", "+4791234567"),
        both.hash("w", "email", "erased@example.com"),
    )
    await check_keys(connection, both)
    with pytest.raises(KeysMismatch):
        await check_keys(connection, one)  # a replica still on the old keys would match nobody


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        (SECOND, "never removed or reordered"),
        (f"{SECOND},{FIRST}", "never removed or reordered"),
        ("k1:another-secret-0123456789abcdef012345", "another secret under a key id"),
    ],
)
async def test_keys_that_do_not_extend_the_stored_ones_are_refused(
    fresh: tuple[CommonSettings, asyncpg.Connection], keys: str, problem: str
) -> None:
    settings, connection = fresh
    await apply_identifier_keys(settings.model_copy(update={"identifier_keys": SecretStr(FIRST)}))
    with pytest.raises(KeysMismatch, match=problem):
        await apply_identifier_keys(settings.model_copy(update={"identifier_keys": SecretStr(keys)}))
    with pytest.raises(KeysMismatch, match=problem):
        await check_keys(connection, identifier_keys_from_setting(keys))
