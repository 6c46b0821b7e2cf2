"""Group commit: items that arrive while one write is in flight go out together in the next.

Each write is one statement for many items, and no item waits longer than the write
before it: under load the groups grow, when idle every item is written at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class GroupWriter(Generic[In, Out]):
    def __init__(self, write: Callable[[list[In]], Awaitable[list[Out]]]) -> None:
        self._write = write
        self._queued: list[In] = []
        self._flushing: asyncio.Task[None] | None = None
        self.written: list[Out] = []
        self.writes = 0

    def add(self, item: In) -> None:
        """Queue `item`; it goes out with the next write, started now unless one is in flight."""
        self._queued.append(item)
        flushing = self._flushing
        if flushing is not None and flushing.done() and flushing.exception() is not None:
            return  # a write failed: nothing more is written, and `close` raises
        if flushing is None or flushing.done():
            self._flushing = asyncio.ensure_future(self._drain())

    async def close(self) -> list[Out]:
        """Wait until everything added is written; a failed write raises here."""
        while self._flushing is not None:
            flushing = self._flushing
            await flushing
            if flushing is self._flushing:
                self._flushing = None
        return self.written

    async def _drain(self) -> None:
        while self._queued:
            group, self._queued = self._queued, []
            self.writes += 1
            self.written.extend(await self._write(group))
