"""The analytics consumer inside a scheduler process: its own group, started and stopped by the app.

It runs where intake runs unless `DRIPLINE_SCHEDULER_ANALYTICS` says otherwise (see `Duties`). The
fold and the split-winner check are loops under the service's worker supervisor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from services.scheduler.analytics.usecases.reports import current_flow, declare_winners
from services.scheduler.analytics.workers.fold import CONSUMER, TOPICS, Fold
from services.scheduler.workers.duties import Duties
from shared.kafka.consumer import ConsumerLoop
from shared.service import Resources
from shared.settings import SchedulerSettings

log = structlog.get_logger(__name__)
WINNER_CHECK_SECONDS = 2.0
FOLD = "analytics-fold"
WINNERS = "split-winners"


class Analytics:
    def __init__(self, settings: SchedulerSettings, resources: Resources) -> None:
        self._settings = settings
        self._resources = resources
        self.fold = Fold(resources.pool)
        self.consumer = ConsumerLoop(
            settings,
            group_id=CONSUMER,
            topics=TOPICS,
            handler=self.fold.handle,
            producer=resources.producer,
            max_records=settings.intake_max_records,
            fetch_max_wait_ms=settings.analytics_fetch_max_wait_ms,
        )

    @property
    def consuming(self) -> bool:
        return bool(self.consumer.consumer.assignment())

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
        while True:
            await asyncio.sleep(WINNER_CHECK_SECONDS)
            try:
                await self.judge_splits()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("analytics.judge_failed", exc_info=True)

    def start(self) -> None:
        """The fold and the winner check, each a loop under the service's supervisor."""
        supervisor = self._resources.supervisor
        supervisor.start(FOLD, self.consumer.run, finish=self.consumer.stop)
        supervisor.start(WINNERS, self._judge)

    async def stop(self) -> None:
        supervisor = self._resources.supervisor
        await supervisor.stop(WINNERS, grace=0.0)
        # Still joining the group: nothing in hand to commit, so no reason to wait for the join.
        await supervisor.stop(FOLD, grace=self._settings.shutdown_grace_seconds if self.consuming else 0.0)


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
