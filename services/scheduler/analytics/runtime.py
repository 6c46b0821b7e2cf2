"""The analytics consumer inside the scheduler process: its own group, started and stopped by the app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from services.scheduler.analytics.fold import CONSUMER, TOPICS, Fold
from shared.kafka.consumer import ConsumerLoop
from shared.service import Resources
from shared.settings import SchedulerSettings

log = structlog.get_logger(__name__)


class Analytics:
    def __init__(self, settings: SchedulerSettings, resources: Resources) -> None:
        self._settings = settings
        self._resources = resources
        self.fold = Fold(resources.pool)
        self.consumer: ConsumerLoop | None = None
        self._task: asyncio.Task[None] | None = None
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
            )
            try:
                await self.consumer.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a bug in one batch
                log.exception("analytics.crashed")
                await asyncio.sleep(1.0)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler-analytics")

    async def stop(self) -> None:
        self._stopping = True
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
    """A start hook: the analytics consumer runs where the scheduler's intake runs."""

    async def start(resources: Resources) -> Stop | None:
        if not settings.scheduler_intake:
            return None
        analytics = Analytics(settings, resources)
        resources.extras["analytics"] = analytics
        analytics.start()
        return analytics.stop

    return start
