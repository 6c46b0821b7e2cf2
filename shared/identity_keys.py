"""Which keys the stored identifier hashes are made with, and carrying them over to new keys.

`identifier_hashing` (one row) names the keys every hash in `contact_identities` and
`suppressions` is wrapped in, oldest first, and holds a probe hash made with them, so a secret
changed under an old key id is caught too. No keys at all means bare SHA-256: hashes from before
keys existed. `dripline migrate` (the migration job, the local stack, the tests) applies keys
added at the end of `DRIPLINE_IDENTIFIER_KEYS` to every stored hash, in one transaction; a
service refuses to start while its keys are not the ones the database's hashes were made with.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable

import asyncpg
import structlog

from shared.consent import store as consent
from shared.consent.store import Columns
from shared.errors import ConfigurationError
from shared.identity import IdentifierKeys

log = structlog.get_logger(__name__)

_PROBE = ("dripline", "email", "probe@dripline.invalid")
_STATE = "SELECT key_ids, probe FROM identifier_hashing WHERE id = 1"
_BATCH = 10_000
_IDENTITY_HASHES = "SELECT workspace_id, kind AS part, value_hash AS old FROM contact_identities"
# By primary key, so every update finds its rows through the index.
_REKEY_IDENTITIES = """
UPDATE contact_identities t SET value_hash = m.new
FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[]) AS m(w, part, old, new)
WHERE t.workspace_id = m.w AND t.kind = m.part AND t.value_hash = m.old
"""


def probe(keys: IdentifierKeys) -> bytes:
    return keys.hash(*_PROBE)


class KeysMismatch(ConfigurationError):
    """The configured keys are not (an extension of) the keys the stored hashes were made with."""


def _compare(applied: list[str], stored_probe: bytes | None, keys: IdentifierKeys) -> None:
    configured = keys.key_ids
    if configured[: len(applied)] != applied:
        raise KeysMismatch(
            f"DRIPLINE_IDENTIFIER_KEYS names {','.join(configured)} but the stored hashes are made with "
            f"{','.join(applied) or 'no keys'}: keys are only ever added at the end, never removed or reordered"
        )
    if applied and stored_probe is not None and probe(keys.first(len(applied))) != stored_probe:
        raise KeysMismatch(
            "DRIPLINE_IDENTIFIER_KEYS holds another secret under a key id the stored hashes were made with"
        )


async def apply_keys(connection: asyncpg.Connection, keys: IdentifierKeys) -> list[str]:
    """Wrap every stored hash in the keys not yet applied; the ids applied now (none when up to date)."""
    async with connection.transaction():
        await connection.execute("LOCK TABLE identifier_hashing IN EXCLUSIVE MODE")
        row = await connection.fetchrow(_STATE)
        applied: list[str] = list(row["key_ids"]) if row else []
        _compare(applied, row["probe"] if row else None, keys)
        added = keys.key_ids[len(applied) :]
        if not added:
            return []
        count = await _rewrap(
            connection, connection.cursor(_IDENTITY_HASHES, prefetch=_BATCH), _identities, keys, len(applied)
        )
        log.info("identifier_keys.rewrapped", table="contact_identities", rows=count, keys=added)
        rows = consent.suppression_hashes(connection, _BATCH)
        count = await _rewrap(connection, rows, consent.rekey_suppressions, keys, len(applied))
        log.info("identifier_keys.rewrapped", table="suppressions", rows=count, keys=added)
        await connection.execute(
            "INSERT INTO identifier_hashing (id, key_ids, probe, updated_at) VALUES (1, $1, $2, now()) "
            "ON CONFLICT (id) DO UPDATE SET key_ids = EXCLUDED.key_ids, probe = EXCLUDED.probe, updated_at = now()",
            keys.key_ids,
            probe(keys),
        )
        return added


async def _identities(connection: asyncpg.Connection, columns: Columns) -> None:
    await connection.execute(_REKEY_IDENTITIES, *columns)


async def _rewrap(
    connection: asyncpg.Connection,
    rows: AsyncIterable[asyncpg.Record],
    update: Callable[[asyncpg.Connection, Columns], Awaitable[None]],
    keys: IdentifierKeys,
    after: int,
) -> int:
    """Every row's hash wrapped once more per new key; the cursor reads the rows as they were before."""
    count = 0
    batch: list[asyncpg.Record] = []

    async def flush() -> None:
        old = [bytes(row["old"]) for row in batch]
        columns = [[row["workspace_id"] for row in batch], [row["part"] for row in batch], old]
        await update(connection, [*columns, [keys.wrap(digest, after=after) for digest in old]])

    async for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            await flush()
            count, batch = count + len(batch), []
    if batch:
        await flush()
        count += len(batch)
    return count


async def check_keys(executor: asyncpg.Connection | asyncpg.Pool, keys: IdentifierKeys) -> None:
    """Refuse to run with keys other than the stored hashes' (lookups would silently find nobody)."""
    try:
        row = await executor.fetchrow(_STATE)
    except asyncpg.UndefinedTableError as error:
        raise KeysMismatch("the database has no identifier_hashing table yet: run `dripline migrate`") from error
    applied: list[str] = list(row["key_ids"]) if row else []
    _compare(applied, row["probe"] if row else None, keys)
    if keys.key_ids != applied:
        raise KeysMismatch(
            f"the stored hashes are made with {','.join(applied) or 'no keys'}, not yet with "
            f"{','.join(keys.key_ids[len(applied) :])}: run `dripline migrate` with these keys first"
        )
