"""Resolves identifiers to a stable contact id, creating the contact on first sight.

Hot path: a small in-process cache answers repeat customers without a query. Two
ingest replicas racing on a brand-new identifier agree through the primary key
(insert-if-absent, then read back).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import asyncpg

from services.ingest.adapters.group_commit import Transaction
from shared.identity import IdentifierKind, identifier_hash, normalise
from shared.ids import new_id

CacheKey = tuple[str, IdentifierKind, str]
HashedKey = tuple[str, IdentifierKind, bytes]

_LOOKUP = """
SELECT kind, contact_id FROM contact_identities
WHERE workspace_id = $1 AND (kind, value_hash) IN (SELECT * FROM unnest($2::text[], $3::bytea[]))
"""
_CLAIM = """
INSERT INTO contact_identities (workspace_id, kind, value_hash, contact_id)
SELECT $1, k, h, $4 FROM unnest($2::text[], $3::bytea[]) AS t(k, h)
ON CONFLICT DO NOTHING
"""


class ContactResolver:
    def __init__(self, pool: asyncpg.Pool, cache_size: int = 200_000) -> None:
        self._pool = pool
        self._cache: OrderedDict[CacheKey, str] = OrderedDict()
        self._cache_size = cache_size

    async def resolve(self, workspace_id: str, identifiers: list[tuple[IdentifierKind, str]], db: Transaction) -> str:
        """The contact id for these identifiers, strongest first; new identifiers are attached to it."""
        # The in-memory cache is keyed by the normalised identifier (no hashing on the hot path);
        # only the database sees hashes.
        known = self.known(workspace_id, identifiers)
        if known is not None:
            return known
        keys = [(workspace_id, kind, normalise(kind, value)) for kind, value in identifiers]
        hashed = [(ws, kind, identifier_hash(ws, kind, value)) for ws, kind, value in keys]
        contact_id = await self._resolve_in_db(await db.connection(), workspace_id, hashed)
        # Cached only once the claim is committed: a rolled-back id must never be handed out again.
        db.after_commit(partial(self._remember_all, keys, contact_id))
        return contact_id

    def known(self, workspace_id: str, identifiers: list[tuple[IdentifierKind, str]]) -> str | None:
        """The contact id when every identifier is cached (a returning customer), without a query."""
        keys = [(workspace_id, kind, normalise(kind, value)) for kind, value in identifiers]
        cached = [self._cache.get(key) for key in keys]
        if not (cached and all(cached)):
            return None
        self._touch(keys)
        return str(cached[0])

    async def _resolve_in_db(self, connection: asyncpg.Connection, workspace_id: str, keys: list[HashedKey]) -> str:
        kinds = [kind for _, kind, _ in keys]
        hashes = [value_hash for _, _, value_hash in keys]
        found = {row["kind"]: row["contact_id"] for row in await connection.fetch(_LOOKUP, workspace_id, kinds, hashes)}
        strongest = next((found[kind] for kind in kinds if kind in found), None)
        contact_id = strongest or new_id()
        await connection.execute(_CLAIM, workspace_id, kinds, hashes, contact_id)
        if strongest is None:
            # Another replica may have claimed the same identifier first; its id wins.
            rows = await connection.fetch(_LOOKUP, workspace_id, kinds[:1], hashes[:1])
            contact_id = rows[0]["contact_id"]
        return str(contact_id)

    def _remember_all(self, keys: list[CacheKey], contact_id: str) -> None:
        for key in keys:
            self._remember(key, contact_id)

    def _remember(self, key: CacheKey, contact_id: str) -> None:
        self._cache[key] = contact_id
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _touch(self, keys: list[CacheKey]) -> None:
        for key in keys:
            self._cache.move_to_end(key)

    def forget(self, workspace_id: str, contact_id: str) -> None:
        """Drop a contact's cached identities (after erasure)."""
        for key in [key for key, value in self._cache.items() if key[0] == workspace_id and value == contact_id]:
            del self._cache[key]
