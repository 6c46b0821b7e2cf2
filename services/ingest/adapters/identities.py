"""Contacts already resolved in this process, by identifier: returning customers need no query.

Keyed by the normalised identifier (no hashing on the hot path); only the database sees hashes.
Filled only after a commit, so an id that was rolled back is never handed out again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from shared.identity import IdentifierKind, normalise

CacheKey = tuple[str, IdentifierKind, str]


class KnownContacts:
    def __init__(self, size: int = 200_000) -> None:
        self._cache: OrderedDict[CacheKey, str] = OrderedDict()
        # Each contact's keys in the cache, so an erasure drops them without a walk over the whole cache.
        self._keys: dict[tuple[str, str], set[CacheKey]] = {}
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
            previous = self._cache.get(key)
            if previous is not None and previous != contact_id:
                self._unindex(key, previous)
            self._cache[key] = contact_id
            self._cache.move_to_end(key)
            self._keys.setdefault((workspace_id, contact_id), set()).add(key)
        while len(self._cache) > self._size:
            self._unindex(*self._cache.popitem(last=False))

    def forget(self, workspace_id: str, contact_id: str) -> None:
        """Drop a contact's cached identities (after erasure)."""
        for key in self._keys.pop((workspace_id, contact_id), ()):
            del self._cache[key]

    def __len__(self) -> int:
        return len(self._cache)

    def _unindex(self, key: CacheKey, contact_id: str) -> None:
        held = self._keys.get((key[0], contact_id))
        if held is not None:
            held.discard(key)
            if not held:
                del self._keys[(key[0], contact_id)]


Said = tuple[str, str, bytes]  # (workspace, contact, digest of the profile update)


class PublishedProfiles:
    """Profile updates this process already put on the broker, so the same one is not published again.

    Bounded (the oldest go first), and indexed by contact, so an erasure forgets a contact's at once."""

    def __init__(self, size: int = 100_000) -> None:
        self._said: OrderedDict[Said, None] = OrderedDict()
        self._by_contact: dict[tuple[str, str], set[Said]] = {}
        self._size = size

    def __contains__(self, said: Said) -> bool:
        return said in self._said

    def __len__(self) -> int:
        return len(self._said)

    def mark(self, said: Iterable[Said]) -> None:
        for key in said:
            self._said[key] = None
            self._by_contact.setdefault(key[:2], set()).add(key)
        while len(self._said) > self._size:
            oldest, _ = self._said.popitem(last=False)
            held = self._by_contact[oldest[:2]]
            held.discard(oldest)
            if not held:
                del self._by_contact[oldest[:2]]

    def forget(self, workspace_id: str, contact_id: str) -> None:
        for key in self._by_contact.pop((workspace_id, contact_id), ()):
            del self._said[key]
