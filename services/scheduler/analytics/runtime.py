"""The analytics consumer inside a scheduler process: its own group, started and stopped by the app.

It runs where intake runs unless `DRIPLINE_SCHEDULER_ANALYTICS` says otherwise (see `Duties`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from services.scheduler.analytics.fold import CONSUMER, TOPICS, Fold
from services.scheduler.analytics.reports import current_flow, declare_winners
from services.scheduler.duties import Duties
from shared.kafka.consumer import ConsumerLoop
from shared.service import Resources
from shared.settings import SchedulerSettings

log = structlog.get_logger(__name__)
WINNER_CHECK_SECONDS = 2.0


class Analytics:
    def __init__(self, settings: SchedulerSettings, resources: Resources) -> None:
        self._settings = settings
        self._resources = resources
        self.fold = Fold(resources.pool)
        self.consumer: ConsumerLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._judging: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def consuming(self) -> bool:
        return self.consumer is not None and bool(self.consumer.consumer.assignment())

    async def _run(self) -> None:
        """Run the loop; a bug in one batch is logged and the batch retried by a fresh loop."""
        while not self._stopping:
            self.consumer = ConsumerLoop(
                self._settings,
                group_id=CONSUMER,
                topics=TOPICS,
                handler=self.fold.handle,
                producer=self._resources.producer,
                max_records=self._settings.intake_max_records,
                fetch_max_wait_ms=self._settings.analytics_fetch_max_wait_ms,
            )
            try:
                await self.consumer.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a bug in one batch
                log.exception("analytics.crashed")
                await asyncio.sleep(1.0)

    async def judge_splits(self) -> None:
        """Declare auto-winners of the splits whose variants got news since the last look."""
        touched, self.fold.touched = self.fold.touched, set()
        for workspace_id, flow_id in sorted(touched):
            flow = await current_flow(self._resources.pool, workspace_id, flow_id)
            for winner in await declare_winners(self._resources.pool, workspace_id, flow) if flow else []:
                log.info(
                    "analytics.winner", workspace_id=workspace_id, flow_id=flow_id, **winner.model_dump(mode="json")
                )

    async def _judge(self) -> None:
        while not self._stopping:
            await asyncio.sleep(WINNER_CHECK_SECONDS)
            try:
                await self.judge_splits()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("analytics.judge_failed", exc_info=True)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler-analytics")
        self._judging = asyncio.create_task(self._judge(), name="scheduler-analytics-winners")

    async def stop(self) -> None:
        self._stopping = True
        if self._judging is not None:
            self._judging.cancel()
            await asyncio.wait({self._judging})
        if self.consumer is not None:
            self.consumer.stop()
        task = self._task
        if task is None:
            return
        if not self.consuming:
            task.cancel()
        done, _ = await asyncio.wait({task}, timeout=self._settings.shutdown_grace_seconds)
        if not done:
            task.cancel()
            await asyncio.wait({task})


Stop = Callable[[], Awaitable[None]]


def analytics_hook(settings: SchedulerSettings) -> Callable[[Resources], Awaitable[Stop | None]]:
    """A start hook: the analytics consumer runs in the processes whose duties include it."""

    async def start(resources: Resources) -> Stop | None:
        if not Duties.of(settings).analytics:
            return None
        analytics = Analytics(settings, resources)
        resources.extras["analytics"] = analytics
        analytics.start()
        return analytics.stop

    return start
