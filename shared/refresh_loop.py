"""A loop that refreshes something (a gauge, a cache) every few seconds until it is asked to stop.

A database or network error is logged and the next round tries again: a gauge a few minutes stale is better
than a supervised loop restarting in a tight circle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

__all__ = ["RefreshLoop"]

log = structlog.get_logger(__name__)


class RefreshLoop:
    def __init__(self, refresh: Callable[[], Awaitable[object]], *, every_seconds: float, failure_event: str) -> None:
        self._refresh = refresh
        self._every = every_seconds
        self._failure_event = failure_event
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._refresh()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                log.warning(self._failure_event, reason=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._every)

    def stop(self) -> None:
        self._stopping.set()
