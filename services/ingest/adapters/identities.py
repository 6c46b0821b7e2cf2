"""Contacts already resolved in this process, by identifier: returning customers need no query.

Keyed by the normalised identifier (no hashing on the hot path); only the database sees hashes.
Filled only after a commit, so an id that was rolled back is never handed out again.
"""

from __future__ import annotations

from collections import OrderedDict

from shared.identity import IdentifierKind, normalise

CacheKey = tuple[str, IdentifierKind, str]


class KnownContacts:
    def __init__(self, size: int = 200_000) -> None:
        self._cache: OrderedDict[CacheKey, str] = OrderedDict()
        self._size = size

    def known(self, workspace_id: str, identifiers: list[tuple[IdentifierKind, str]]) -> str | None:
        """The contact id when every identifier is cached (a returning customer), without a query."""
        keys = [(workspace_id, kind, normalise(kind, value)) for kind, value in identifiers]
        cached = [self._cache.get(key) for key in keys]
        if not (cached and all(cached)):
            return None
        for key in keys:
            self._cache.move_to_end(key)
        return str(cached[0])

    def remember(self, workspace_id: str, identifiers: list[tuple[IdentifierKind, str]], contact_id: str) -> None:
        """After the commit that claimed them: these identifiers lead to `contact_id`."""
        for kind, value in identifiers:
            key = (workspace_id, kind, normalise(kind, value))
            self._cache[key] = contact_id
            self._cache.move_to_end(key)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)

    def forget(self, workspace_id: str, contact_id: str) -> None:
        """Drop a contact's cached identities (after erasure)."""
        for key in [key for key, value in self._cache.items() if key[0] == workspace_id and value == contact_id]:
            del self._cache[key]
