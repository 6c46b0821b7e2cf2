"""Who must stay erased: a request naming an identifier of an erased person is accepted and dropped.

Erasure leaves a keyed hash of each of the person's identifiers (email, phone, the shop's own id,
and Dripline's contact id) as a suppression with reason `erased`. A later sign-up, identify call,
import row or event naming any of them would otherwise create the person again (a contact row, a
profile on contacts.changes, subscriptions); here it is answered like any other and only counted.
Events that go no further than the bus (a returning contact's, with nothing new to say about them)
are not looked up here: they create no row and carry no personal data.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from prometheus_client import Counter

from services.ingest.domain.profile import identifiers_of
from services.ingest.domain.requests import ContactRef
from shared.consent import store as consent
from shared.identity import contact_id_hash, identifier_hash

ERASED_DROPPED = Counter(
    "dripline_ingest_erased_dropped",
    "Events, identify calls and import rows naming an erased person's identifier: accepted and dropped",
    ["what"],
)


def _hashes(workspace_id: str, ref: ContactRef) -> list[bytes]:
    hashes = [identifier_hash(workspace_id, kind, value) for kind, value in identifiers_of(ref)]
    if ref.contact_id:  # named by Dripline's own id, and saying something new about them
        hashes.append(contact_id_hash(workspace_id, ref.contact_id))
    return hashes


class ErasedIdentifiers:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def named(self, workspace_id: str, refs: Iterable[tuple[int, ContactRef]], what: str) -> set[int]:
        """The positions of the refs that name an erased person (counted as dropped under `what`)."""
        hashed = {n: _hashes(workspace_id, ref) for n, ref in refs}
        every = [digest for digests in hashed.values() for digest in digests]
        if not every:
            return set()
        erased = await consent.erased_among(self._pool, workspace_id, every)
        dropped = {n for n, digests in hashed.items() if erased.intersection(digests)}
        if dropped:
            ERASED_DROPPED.labels(what).inc(len(dropped))
        return dropped
