"""Sign-ups arriving together share one transaction: one durable commit for a group, not one each.

A new contact's identity claim, profile, consent ledger and subscriptions are a handful of quick
statements and one slow, durable commit. Work handed in within a couple of milliseconds runs on one
connection in one transaction, and every caller is answered only after its commit. Should any part
fail (bad data, a deadlock with another group, a lost connection), nothing of the group is kept and
each part is run again in a transaction of its own, so only a part that fails alone fails its caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import asyncpg

from shared.db.lazy import LazyTransaction

T = TypeVar("T")


class Transaction(Protocol):
    """What a part of the work sees: the connection of its transaction, and work for after the commit."""

    async def connection(self) -> asyncpg.Connection: ...

    def after_commit(self, action: Callable[[], None]) -> None: ...


Work = Callable[[Transaction], Awaitable[Any]]


@dataclass
class _Part:
    """One caller's work inside a group's transaction."""

    work: Work
    answer: asyncio.Future[Any]
    shared: asyncpg.Connection | None = None
    actions: list[Callable[[], None]] = field(default_factory=list)

    async def connection(self) -> asyncpg.Connection:
        assert self.shared is not None
        return self.shared

    def after_commit(self, action: Callable[[], None]) -> None:
        self.actions.append(action)


class GroupCommit:
    def __init__(self, pool: asyncpg.Pool, *, window_seconds: float = 0.002, most: int = 32) -> None:
        self._pool = pool
        self._window = window_seconds
        self._most = most
        self._waiting: list[_Part] = []
        self._timer: asyncio.TimerHandle | None = None
        self._groups: set[asyncio.Task[None]] = set()

    async def run(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """`work`'s result once it is committed together with whatever else arrived meanwhile."""
        loop = asyncio.get_running_loop()
        part = _Part(work, loop.create_future())
        self._waiting.append(part)
        if len(self._waiting) >= self._most:
            self._start_group()
        elif self._timer is None:
            self._timer = loop.call_later(self._window, self._start_group)
        result: T = await asyncio.shield(part.answer)  # a caller that goes away must not cut its group short
        return result

    async def run_alone(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """`work` in a transaction of its own (taken only if it turns out to need the database)."""
        async with LazyTransaction(self._pool) as db:
            return await work(db)

    def _start_group(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        group, self._waiting = self._waiting, []
        task = asyncio.create_task(self._commit(group))
        self._groups.add(task)
        task.add_done_callback(self._groups.discard)

    async def _commit(self, group: list[_Part]) -> None:
        try:
            results = await self._together(group)
        except Exception:  # noqa: BLE001 - one part failed the group: each is answered on its own below
            for part in group:
                await self._alone(part)
            return
        for part, result in zip(group, results, strict=True):
            for action in part.actions:
                action()
            _answer(part, result=result)

    async def _together(self, group: list[_Part]) -> list[Any]:
        # No savepoint per part: two more round trips each, for a failure that is rare.
        async with self._pool.acquire() as connection, connection.transaction():
            results = []
            for part in group:
                part.shared, part.actions = connection, []
                results.append(await part.work(part))
            return results

    async def _alone(self, part: _Part) -> None:
        try:
            result = await self.run_alone(part.work)
        except Exception as error:  # noqa: BLE001 - handed to the caller, who answers for it
            _answer(part, error=error)
        else:
            _answer(part, result=result)


def _answer(part: _Part, *, result: Any = None, error: BaseException | None = None) -> None:
    if part.answer.done():
        return
    if error is not None:
        part.answer.set_exception(error)
    else:
        part.answer.set_result(result)
