"""One connection and one transaction, taken only if a step turns out to need the database.

Hot paths (ingest) usually answer from caches; when they do need the database, every step of
one request shares a single transaction, so a request costs one commit, not one per step.
Work that must only happen once the data is durable (filling a cache) waits in `after_commit`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction


class LazyTransaction:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._connection: PoolConnectionProxy | None = None
        self._transaction: Transaction | None = None
        self._after_commit: list[Callable[[], None]] = []

    async def connection(self) -> asyncpg.Connection:
        if self._connection is None:
            self._connection = await self._pool.acquire()
            self._transaction = self._connection.transaction()
            await self._transaction.start()
        return self._connection

    def after_commit(self, action: Callable[[], None]) -> None:
        self._after_commit.append(action)

    async def __aenter__(self) -> LazyTransaction:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._connection is None:
            if kind is None:
                self._run_after_commit()
            return
        assert self._transaction is not None
        try:
            if kind is None:
                await self._transaction.commit()
            else:
                await self._transaction.rollback()
        finally:
            await self._pool.release(self._connection)
            self._connection = None
        if kind is None:
            self._run_after_commit()

    def _run_after_commit(self) -> None:
        for action in self._after_commit:
            action()
        self._after_commit.clear()
