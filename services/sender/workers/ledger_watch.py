"""Keeps the delivery backlog gauge current: how long the oldest claimed message has waited.

A message waits `claimed` between the claim and its attempt; one waiting minutes means delivery
is stuck (SMTP away, a rate limit far below the traffic, a sender that died with messages in hand).
"""

from __future__ import annotations

import asyncpg
from prometheus_client import Gauge

from services.sender.adapters.backlog import oldest_claimed_seconds
from shared.refresh_loop import RefreshLoop

LEDGER_WATCH = "ledger-watch"
OLDEST_CLAIMED = Gauge(
    "dripline_sender_oldest_claimed_seconds", "Age of the oldest message claimed but not yet attempted (0: none)"
)
EVERY_SECONDS = 15.0


class LedgerWatch(RefreshLoop):
    def __init__(self, pool: asyncpg.Pool, *, every_seconds: float = EVERY_SECONDS) -> None:
        super().__init__(self.refresh, every_seconds=every_seconds, failure_event="sender.ledger_watch_failed")
        self._pool = pool

    async def refresh(self) -> float:
        age = await oldest_claimed_seconds(self._pool)
        OLDEST_CLAIMED.set(age)
        return age
