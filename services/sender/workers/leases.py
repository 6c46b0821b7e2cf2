"""Messages this process is working on keep their ledger rows fresh while it works on them.

The stale-send rule takes back a message left `claimed` or `sending` for `stale_send_seconds`:
it is meant for a sender that died. A sender that is only slow (a low rate limit, a sluggish SMTP
server, two chunks of a large batch in flight) must not lose its messages to it, or they would be
sent twice. So every third of that time the rows of the messages in hand are touched, in one
statement; a process that dies stops touching them, and the rule works as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterable

import asyncpg
import structlog

from services.sender.adapters.ledger import SendLedger

log = structlog.get_logger(__name__)


class Leases:
    def __init__(self, ledger: SendLedger, *, stale_after_seconds: float) -> None:
        self._ledger = ledger
        self._every = stale_after_seconds / 3
        self._held: Counter[str] = Counter()
        self._stopping = asyncio.Event()

    def hold(self, message_ids: Iterable[str]) -> None:
        self._held.update(message_ids)

    def release(self, message_ids: Iterable[str]) -> None:
        self._held.subtract(message_ids)
        self._held = +self._held  # drop the ones no longer held

    @property
    def held(self) -> list[str]:
        return list(self._held)

    async def renew(self) -> int:
        """Touch the rows of every message in hand; returns how many were touched (rows being written are skipped)."""
        held = self.held
        return await self._ledger.renew(held) if held else 0

    async def run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._every)
            try:
                await self.renew()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                log.warning("sender.lease_renewal_failed", held=len(self._held), reason=repr(error))

    def stop(self) -> None:
        self._stopping.set()
