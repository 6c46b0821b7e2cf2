"""Workspaces and their API keys. Keys are stored as SHA-256 hashes; the key itself is shown once."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import asyncpg

KEY_PREFIX = "dl_"


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def mint_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


async def ensure_workspace(connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str, name: str) -> None:
    await connection.execute(
        "INSERT INTO workspaces (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", workspace_id, name
    )


async def create_key(
    connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str, name: str, key: str | None = None
) -> str:
    """Store a new key for the workspace (or a given one, idempotently) and return it."""
    key = key or mint_key()
    await connection.execute(
        "INSERT INTO api_keys (id, workspace_id, name, key_hash) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (key_hash) DO NOTHING",
        secrets.token_hex(8),
        workspace_id,
        name,
        hash_key(key),
    )
    return key


async def revoke_key(connection: asyncpg.Connection | asyncpg.Pool, key_id: str) -> bool:
    status = await connection.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id
    )
    return str(status).endswith(" 1")


@dataclass(frozen=True)
class KeyCheck:
    workspace_id: str | None
    revoked: bool


class ApiKeys:
    """Answers 'whose key is this' with a short cache, so a revoked key stops working within a minute."""

    def __init__(self, pool: asyncpg.Pool, ttl_seconds: float = 30.0) -> None:
        self._pool = pool
        self._ttl = ttl_seconds
        self._cache: dict[bytes, tuple[float, KeyCheck]] = {}

    async def check(self, key: str) -> KeyCheck:
        digest = hash_key(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit and hit[0] > now:
            return hit[1]
        row = await self._pool.fetchrow(
            "SELECT workspace_id, revoked_at IS NOT NULL AS revoked FROM api_keys WHERE key_hash = $1", digest
        )
        result = KeyCheck(row["workspace_id"], row["revoked"]) if row else KeyCheck(None, False)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, result)
        return result
