"""Workspaces and their API keys. Keys are stored as SHA-256 hashes; the key itself is shown once.

A key carries scopes (what it may do, `SCOPES`) and a rate limit (requests per second and a burst,
none for keys the stack makes for itself). The services read both with the key, cached briefly.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg

from shared.contract.fields import ID_PATTERN
from shared.rate_limit_store import PostgresBuckets
from shared.rate_limits import BucketStore, LeasedBuckets, RateLimit

KEY_PREFIX = "dl_"
ADMIN = "admin"
# What each scope lets a key do is in docs/security.md; `admin` is every scope.
SCOPES = (
    "events:write",
    "contacts:read",
    "contacts:write",
    "contacts:erase",
    "flows:read",
    "flows:write",
    "templates:read",
    "templates:write",
    "reports:read",
    ADMIN,
)
# What `dripline keys create` gives without --scope: what a shop's server or website needs.
DEFAULT_SCOPES = ("events:write",)
DEFAULT_LIMIT = RateLimit(per_second=100.0, burst=500)
_WORKSPACE_ID = re.compile(ID_PATTERN)


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def mint_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


def checked_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes in their documented order, each once; ValueError naming one Dripline does not know."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}")
    if not wanted:
        raise ValueError("a key needs at least one scope")
    return tuple(scope for scope in SCOPES if scope in wanted)


async def ensure_workspace(connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str, name: str) -> None:
    # Records on contacts.changes are keyed `workspace_id/contact_id`: a workspace id never holds a slash.
    if not _WORKSPACE_ID.fullmatch(workspace_id):
        raise ValueError(f"workspace ids are 1-128 of A-Z a-z 0-9 . _ : @ + - (got {workspace_id!r})")
    await connection.execute(
        "INSERT INTO workspaces (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", workspace_id, name
    )


async def create_key(
    connection: asyncpg.Connection | asyncpg.Pool,
    workspace_id: str,
    name: str,
    key: str | None = None,
    *,
    scopes: Iterable[str] = (ADMIN,),
    limit: RateLimit | None = None,
) -> str:
    """Store a new key for the workspace (or a given one, idempotently) and return it.

    The defaults (every scope, no rate limit) suit keys the stack makes for itself: the local demo
    key, benchmarks, tests. `dripline keys create` passes `DEFAULT_SCOPES` and `DEFAULT_LIMIT`."""
    key = key or mint_key()
    await connection.execute(
        "INSERT INTO api_keys (id, workspace_id, name, key_hash, scopes, rate_per_second, burst) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key_hash) DO NOTHING",
        secrets.token_hex(8),
        workspace_id,
        name,
        hash_key(key),
        list(checked_scopes(scopes)),
        limit.per_second if limit else None,
        limit.burst if limit else None,
    )
    return key


async def revoke_key(connection: asyncpg.Connection | asyncpg.Pool, key_id: str) -> bool:
    status = await connection.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id
    )
    return str(status).endswith(" 1")


async def limit_key(connection: asyncpg.Connection | asyncpg.Pool, key_id: str, limit: RateLimit | None) -> bool:
    """Change a key's rate limit (None: no limit); the services see it within the key cache's lifetime."""
    status = await connection.execute(
        "UPDATE api_keys SET rate_per_second = $2, burst = $3 WHERE id = $1 AND revoked_at IS NULL",
        key_id,
        limit.per_second if limit else None,
        limit.burst if limit else None,
    )
    return str(status).endswith(" 1")


async def load_test_recipients(connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str) -> list[str]:
    """The addresses this workspace's test sends may go to (lower case)."""
    raw = await connection.fetchval("SELECT settings -> 'test_recipients' FROM workspaces WHERE id = $1", workspace_id)
    return [str(address) for address in json.loads(raw)] if raw else []


async def save_test_recipients(
    connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str, addresses: Iterable[str]
) -> list[str]:
    kept = sorted({address.lower() for address in addresses})
    await connection.execute(
        "UPDATE workspaces SET settings = jsonb_set(settings, '{test_recipients}', $2::jsonb) WHERE id = $1",
        workspace_id,
        json.dumps(kept),
    )
    return kept


async def load_default_locale(connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str) -> str | None:
    """The language a reader gets when their locale finds no variant of a template (None: the template's own)."""
    found = await connection.fetchval(
        "SELECT settings ->> 'default_locale' FROM workspaces WHERE id = $1", workspace_id
    )
    return str(found) if found else None


async def default_locales(connection: asyncpg.Connection | asyncpg.Pool, workspace_ids: list[str]) -> dict[str, str]:
    """Each workspace's default locale, where it set one: the end of every reader's fallback chain."""
    rows = await connection.fetch(
        "SELECT id, settings ->> 'default_locale' AS locale FROM workspaces "
        "WHERE id = ANY($1::text[]) AND settings ? 'default_locale'",
        workspace_ids,
    )
    return {row["id"]: row["locale"] for row in rows if row["locale"]}


async def save_default_locale(
    connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str, locale: str | None
) -> None:
    """Set (or with None, remove) the workspace's default locale."""
    await connection.execute(
        "UPDATE workspaces SET settings = CASE WHEN $2::text IS NULL THEN settings - 'default_locale' "
        "ELSE jsonb_set(settings, '{default_locale}', to_jsonb($2::text)) END WHERE id = $1",
        workspace_id,
        locale,
    )


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """Whose key this is and what it may do; `workspace_id` None for a key Dripline does not know."""

    workspace_id: str | None
    revoked: bool
    key_id: str = ""
    scopes: frozenset[str] = frozenset()
    limit: RateLimit | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or ADMIN in self.scopes


_UNKNOWN = KeyCheck(None, False)
_LOOKUP = (
    "SELECT id, workspace_id, revoked_at IS NOT NULL AS revoked, scopes, rate_per_second, burst "
    "FROM api_keys WHERE key_hash = $1"
)


class ApiKeys:
    """Answers 'whose key is this' with a short cache, so a revoked key stops working within a minute."""

    def __init__(self, pool: asyncpg.Pool, ttl_seconds: float = 30.0, buckets: BucketStore | None = None) -> None:
        self._pool = pool
        self._ttl = ttl_seconds
        self._cache: dict[bytes, tuple[float, KeyCheck]] = {}
        # One limit for every replica together, counted in the database.
        self._buckets = LeasedBuckets(buckets or PostgresBuckets(pool))

    async def wait_before(self, check: KeyCheck, now: float) -> float:
        """Spend one of the key's requests: 0.0 when it may go now, else the seconds to wait."""
        if check.limit is None:
            return 0.0
        return await self._buckets.take(f"key:{check.key_id}", check.limit, now)

    async def check(self, key: str) -> KeyCheck:
        digest = hash_key(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit and hit[0] > now:
            return hit[1]
        row = await self._pool.fetchrow(_LOOKUP, digest)
        result = _key_check(row) if row else _UNKNOWN
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, result)
        return result


def _key_check(row: asyncpg.Record) -> KeyCheck:
    limit = None
    if row["rate_per_second"] is not None and row["burst"] is not None:
        limit = RateLimit(float(row["rate_per_second"]), int(row["burst"]))
    return KeyCheck(row["workspace_id"], row["revoked"], row["id"], frozenset(row["scopes"]), limit)
