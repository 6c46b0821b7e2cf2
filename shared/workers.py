"""The worker supervisor: every long-running loop of a service runs under it.

A loop that raises is logged with its traceback, counted, and started again after a backoff
that doubles per crash in a row (with jitter, up to a cap). While a loop waits to restart, has
crashed too often in the last minute, or has not yet run healthily for a while since its last
crash, `/readyz` answers 503 and names it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from prometheus_client import Counter, Gauge

from shared.settings import CommonSettings

log = structlog.get_logger(__name__)

RESTARTS = Counter("dripline_loop_restarts", "Loops restarted after they crashed", ["service", "loop"])
UP = Gauge("dripline_loop_up", "1 while the loop runs, 0 while it waits to restart after a crash", ["service", "loop"])

CRASH_WINDOW_SECONDS = 60.0

Run = Callable[[], Awaitable[None]]
Finish = Callable[[], object]


@dataclass(frozen=True)
class RestartPolicy:
    initial_seconds: float = 0.5
    max_seconds: float = 30.0
    healthy_after_seconds: float = 10.0
    crash_limit: int = 3
    window_seconds: float = CRASH_WINDOW_SECONDS

    @classmethod
    def of(cls, settings: CommonSettings) -> RestartPolicy:
        return cls(
            settings.loop_backoff_initial_seconds,
            settings.loop_backoff_max_seconds,
            settings.loop_healthy_after_seconds,
            settings.loop_crash_limit,
        )

    def delay(self, crashes_in_a_row: int, jitter: float) -> float:
        """Exponential backoff with equal jitter (`jitter` in [0, 1)): replicas that crash together
        do not all come back at the same instant."""
        ceiling = min(self.max_seconds, self.initial_seconds * 2.0 ** min(crashes_in_a_row - 1, 30))
        return ceiling / 2 + ceiling / 2 * jitter


@dataclass
class LoopHealth:
    """What one loop has been through; the time is always passed in, so tests drive it with a fake clock."""

    policy: RestartPolicy
    crashes: deque[float] = field(default_factory=deque)
    in_a_row: int = 0
    running_since: float | None = None
    restart_at: float | None = None
    last_error: str | None = None

    def started(self, now: float) -> None:
        self.running_since, self.restart_at = now, None

    def crashed(self, now: float, error: BaseException, jitter: float) -> float:
        """Note a crash; returns how long to wait before the restart."""
        ran_well = self.running_since is not None and now - self.running_since >= self.policy.healthy_after_seconds
        self.in_a_row = 1 if ran_well else self.in_a_row + 1
        self.crashes.append(now)
        self.last_error = f"{type(error).__name__}: {error}"[:200]
        delay = self.policy.delay(self.in_a_row, jitter)
        self.running_since, self.restart_at = None, now + delay
        return delay

    def problem(self, now: float) -> str | None:
        """Why this loop makes the service unready, or None when it is fine."""
        while self.crashes and now - self.crashes[0] > self.policy.window_seconds:
            self.crashes.popleft()
        if self.restart_at is not None:
            return f"down, restarting in {max(0.0, self.restart_at - now):.1f} s after {self.last_error}"
        if len(self.crashes) > self.policy.crash_limit:
            window = self.policy.window_seconds
            return f"crash-looping: {len(self.crashes)} restarts in the last {window:.0f} s, last {self.last_error}"
        since = self.running_since
        if self.last_error is not None and since is not None and now - since < self.policy.healthy_after_seconds:
            return f"recovering after {self.last_error}"
        return None


@dataclass
class _Loop:
    name: str
    run: Run
    finish: Finish | None
    once: bool
    health: LoopHealth
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class Supervisor:
    """Starts named loops as tasks and keeps them running until `stop`."""

    def __init__(
        self,
        service: str,
        policy: RestartPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.service = service
        self._policy = policy
        self._clock = clock
        self._jitter = jitter
        self._loops: dict[str, _Loop] = {}

    def start(self, name: str, run: Run, *, finish: Finish | None = None, once: bool = False) -> None:
        """Run `run()` as the loop `name`. `finish` asks a running loop to wind down (it should then
        return); `once` marks work that ends by itself (returning is then done, not a fault)."""
        if name in self._loops:
            raise ValueError(f"a loop named {name!r} is already supervised")
        loop = _Loop(name, run, finish, once, LoopHealth(self._policy))
        self._loops[name] = loop
        loop.task = asyncio.create_task(self._keep_running(loop), name=f"{self.service}:{name}")

    def health(self) -> dict[str, str]:
        """Every loop's state for /readyz: "ok", or what is wrong with it."""
        now = self._clock()
        return {name: loop.health.problem(now) or "ok" for name, loop in self._loops.items()}

    async def stop(self, *names: str, grace: float) -> None:
        """Ask the named loops to finish and wait up to `grace` seconds; then cancel what still runs."""
        loops = [self._loops[name] for name in names if name in self._loops]
        for loop in loops:
            loop.stopping.set()
            if loop.finish is not None:
                loop.finish()
        tasks = {loop.task for loop in loops if loop.task is not None and not loop.task.done()}
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace) if grace > 0 else (set(), tasks)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def stop_all(self, grace: float = 0.0) -> None:
        """Whatever still runs (a service stops its loops in its own order first)."""
        await self.stop(*self._loops, grace=grace)

    async def _keep_running(self, loop: _Loop) -> None:
        up = UP.labels(self.service, loop.name)
        try:
            while not loop.stopping.is_set():
                loop.health.started(self._clock())
                up.set(1)
                try:
                    await loop.run()
                    if loop.once or loop.stopping.is_set():
                        return
                    raise RuntimeError("the loop returned without being asked to stop")
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - whatever a loop raises, it is logged and restarted
                    if loop.stopping.is_set():
                        log.warning("loop.failed_while_stopping", loop=loop.name, exc_info=error)
                        return
                    up.set(0)
                    delay = self._crashed(loop, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(loop.stopping.wait(), delay)
        finally:
            # A loop that is done or stopped has no series: `dripline_loop_up == 0` means waiting to restart.
            with contextlib.suppress(KeyError):
                UP.remove(self.service, loop.name)

    def _crashed(self, loop: _Loop, error: Exception) -> float:
        delay = loop.health.crashed(self._clock(), error, self._jitter())
        RESTARTS.labels(self.service, loop.name).inc()
        log.error(
            "loop.crashed",
            loop=loop.name,
            restart_in_seconds=round(delay, 2),
            crashes_in_a_row=loop.health.in_a_row,
            exc_info=error,
        )
        return delay
