"""Sign-ups arriving together are written together: one durable commit for a group, not one each.

A group starts at once when fewer than `in_flight` groups are being written; otherwise items wait
for one of them to finish, and all that waited go together. So a quiet moment costs no waiting,
and the busier it gets, the larger the groups. A group is one call of the handler on one
connection, which writes its items with set-based statements, atomically (one statement, or a
transaction it opens); every caller is answered only after that commit. Should the group fail (bad data, a
deadlock with another group, a lost connection), nothing of it is kept and each item is written
again on its own, so only an item that fails alone fails its caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg

Item = TypeVar("Item")
Result = TypeVar("Result")
# Writes a group's items all or nothing; one result per item, in order.
Handler = Callable[[asyncpg.Connection, list[Item]], Awaitable[list[Result]]]


class RunAgain(Exception):
    """A concurrent writer got there first; a fresh transaction will see what it wrote."""


@dataclass
class _Waiting(Generic[Item, Result]):
    item: Item
    answer: asyncio.Future[Result]


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        pool: asyncpg.Pool,
        handler: Handler[Item, Result],
        *,
        in_flight: int = 1,
        most: int = 32,
        attempts: int = 3,
    ) -> None:
        self._pool = pool
        self._handler = handler
        self._in_flight = in_flight
        self._most = most
        self._attempts = attempts
        self._waiting: list[_Waiting[Item, Result]] = []
        self._start_pending = False
        self._groups: set[asyncio.Task[None]] = set()

    async def run(self, item: Item) -> Result:
        """`item`'s result once it is committed together with whatever else arrived meanwhile."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(item, loop.create_future())
        self._waiting.append(waiting)
        if not self._start_pending:  # at the end of this turn of the loop: items handed in during it go together
            self._start_pending = True
            loop.call_soon(self._start_groups)
        return await asyncio.shield(waiting.answer)  # a caller that goes away must not cut its group short

    async def run_alone(self, items: list[Item]) -> list[Result]:
        """`items` written as a group of their own, again when a concurrent writer got there first."""
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._together(items)
            except RunAgain:
                if attempt == self._attempts:
                    raise
        raise AssertionError("unreachable")

    def _start_groups(self) -> None:
        self._start_pending = False
        while self._waiting and len(self._groups) < self._in_flight:
            group, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
            task = asyncio.create_task(self._commit(group))
            self._groups.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._groups.discard(task)
        self._start_groups()

    async def _commit(self, group: list[_Waiting[Item, Result]]) -> None:
        try:
            results = await self._together([waiting.item for waiting in group])
        except Exception:  # noqa: BLE001 - the group failed: each item is answered on its own below
            for waiting in group:
                await self._alone(waiting)
            return
        for waiting, result in zip(group, results, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(result)

    async def _together(self, items: list[Item]) -> list[Result]:
        async with self._pool.acquire() as connection:
            return await self._handler(connection, items)

    async def _alone(self, waiting: _Waiting[Item, Result]) -> None:
        if waiting.answer.done():
            return
        try:
            [result] = await self.run_alone([waiting.item])
        except Exception as error:  # noqa: BLE001 - handed to the caller, who answers for it
            waiting.answer.set_exception(error)
        else:
            waiting.answer.set_result(result)
