"""The backstop on waits for the broker's acknowledgements: one timer for all of them.

Every wait gets the same allowance, so deadlines fall due in the order the waits began: a queue,
swept by a single timer. A timer per wait (`asyncio.timeout`) cost a few microseconds on every
event the ingest API accepts.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

from aiokafka.errors import KafkaTimeoutError

SWEEP_SECONDS = 1.0  # answered waits leave the queue about this often


class AckDeadlines:
    """Fails the futures of a wait still unanswered `seconds` after it began (as the client's
    own request timeout should have)."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._waits: deque[tuple[float, Sequence[asyncio.Future[object]]]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def watch(self, futures: Sequence[asyncio.Future[object]]) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if loop is not self._loop:  # a timer on another (closed) loop would never fire
            self.stop()
            self._loop = loop
        self._waits.append((now + self._seconds, futures))
        if self._timer is None:
            self._timer = loop.call_at(now + min(self._seconds, SWEEP_SECONDS), self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        waits = self._waits
        while waits:
            deadline, futures = waits[0]
            if deadline > now and not all(future.done() for future in futures):
                break
            waits.popleft()
            for future in futures:
                if not future.done():
                    future.set_exception(KafkaTimeoutError(f"no acknowledgement within {self._seconds:g} s"))
                    future.exception()  # its waiter may be gone (a client that hung up): nothing to log then
        self._timer = loop.call_at(min(waits[0][0], now + SWEEP_SECONDS), self._sweep, loop) if waits else None

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._waits.clear()
