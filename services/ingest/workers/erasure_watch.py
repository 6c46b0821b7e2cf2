"""Erasures made anywhere reach this process's memory: another ingest replica, the console, the CLI.

Each ingest process remembers which identifiers lead to which contact, so a returning customer's
event needs no query. An erasure through one replica clears that replica's memory at once; every
erasure, wherever it was made, also writes a `contact.erased` entry to the audit log in its own
transaction, and this loop reads those entries every couple of seconds and forgets the contacts they
name. Without it another replica would go on putting a returning customer's events on the bus under
the erased contact's id.

It reads from the log's newest entry when the process starts (its memory is empty then), and looks
back a window of ids each time, since an erasure that began earlier may commit after a later one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
from prometheus_client import Counter

from shared.audit import entries_since, last_entry_id
from shared.contact_rights import ERASED_ACTION

APPLIED = Counter("dripline_ingest_erasures_applied", "Erasures this process applied to its memory of contacts")
POLL_SECONDS = 2.0
# Ids handed out before the newest one seen but committed after it are still found: erasures are rare.
LOOK_BACK_IDS = 10_000

Forget = Callable[[str, str], None]


class ErasureWatch:
    def __init__(self, pool: asyncpg.Pool, forget: Forget, *, poll_seconds: float = POLL_SECONDS) -> None:
        self._pool = pool
        self._forget = forget
        self._poll = poll_seconds
        self._newest: int | None = None
        self._seen: set[int] = set()
        self._stopping = asyncio.Event()
        self.applied = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        if self._newest is None:  # memory is empty: what was erased before is only marked as read
            self._newest = await last_entry_id(self._pool)
            before = await entries_since(self._pool, max(0, self._newest - LOOK_BACK_IDS), ERASED_ACTION)
            self._seen = {entry_id for entry_id, _, _ in before}
        while not self._stopping.is_set():
            await self.look()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll)

    async def look(self) -> int:
        """Forget the contacts erased since the last look; returns how many."""
        newest = self._newest or 0
        found = await entries_since(self._pool, max(0, newest - LOOK_BACK_IDS), ERASED_ACTION, besides=self._seen)
        for entry_id, workspace_id, contact_id in found:
            self._apply(workspace_id, contact_id)
            self._seen.add(entry_id)
        if found:
            self._newest = max(newest, found[-1][0])
            self._seen = {entry_id for entry_id in self._seen if entry_id > self._newest - LOOK_BACK_IDS}
        return len(found)

    def _apply(self, workspace_id: str, contact_id: str) -> None:
        self._forget(workspace_id, contact_id)
        self.applied += 1
        APPLIED.inc()
