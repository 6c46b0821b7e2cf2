"""The running scheduler: intake consumer, timer loop and outbox relay, started and stopped in order.

Which of them this process runs is its `Duties` (a fold-only process runs none of them).

Stop order matters: the consumer finishes its batch and commits offsets, the timer loop finishes its
batch, and only then does the relay flush what they wrote, before the shell closes producer and pool.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field

import structlog

from services.scheduler.adapters.flows import FlowCatalog
from services.scheduler.duties import Duties
from services.scheduler.intake import CONSUMER, TOPICS, Intake
from services.scheduler.journeys import Journeys
from services.scheduler.timers import TimerLoop
from services.scheduler.unit import Clock, Units, system_clock
from shared.kafka.consumer import ConsumerLoop
from shared.outbox import OutboxRelay
from shared.service import Resources
from shared.settings import SchedulerSettings

log = structlog.get_logger(__name__)


@dataclass
class Scheduler:
    settings: SchedulerSettings
    units: Units
    journeys: Journeys
    relay: OutboxRelay
    timers: TimerLoop
    intake: Intake
    duties: Duties
    consumer: ConsumerLoop | None = None
    _consuming: asyncio.Task[None] | None = field(default=None, repr=False)
    _stopping: bool = False

    async def _consume(self, resources: Resources) -> None:
        """Run the consumer; if it dies of something unexpected, log it and start a fresh one."""
        while not self._stopping:
            self.consumer = ConsumerLoop(
                self.settings,
                group_id=CONSUMER,
                topics=TOPICS,
                handler=self.intake.handle,
                producer=resources.producer,
                max_records=self.settings.intake_max_records,
            )
            try:
                await self.consumer.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a bug in one batch; the batch is retried
                log.exception("intake.crashed")
                await asyncio.sleep(1.0)

    def start(self, resources: Resources) -> None:
        log.info("scheduler.duties", **asdict(self.duties))
        if self.duties.relay:
            self.relay.start()
        if self.duties.timers:
            self.timers.start()
        if self.duties.intake:
            self._consuming = asyncio.create_task(self._consume(resources), name="scheduler-intake")

    @property
    def consuming(self) -> bool:
        """Whether the intake consumer holds partitions (joining a group can take seconds)."""
        return self.consumer is not None and bool(self.consumer.consumer.assignment())

    async def stop(self) -> None:
        self._stopping = True
        if self.consumer is not None:
            self.consumer.stop()
        task = self._consuming
        if task is not None:
            if not self.consuming:
                # Still joining the group: no batch in hand, nothing to commit, no reason to wait for the join.
                task.cancel()
            done, _ = await asyncio.wait({task}, timeout=self.settings.shutdown_grace_seconds)
            if not done:
                task.cancel()
                await asyncio.wait({task})
        await self.timers.stop()
        await self.relay.stop()


def build_scheduler(settings: SchedulerSettings, resources: Resources, clock: Clock = system_clock) -> Scheduler:
    relay = OutboxRelay(
        resources.pool, resources.producer, batch_size=settings.outbox_batch, poll_seconds=settings.outbox_poll_seconds
    )
    units = Units(resources.pool, FlowCatalog(), clock, on_records=relay.notify)
    journeys = Journeys(settings)
    timers = TimerLoop(units, journeys, settings)
    units.on_timer = timers.wake
    return Scheduler(settings, units, journeys, relay, timers, Intake(units, journeys), Duties.of(settings))
