"""The running scheduler: intake consumer, timer loop, outbox relay and the reconciliation pass, started and
stopped in order.

Which of them this process runs is its `Duties` (a fold-only process runs none of them).

Each is a loop under the service's worker supervisor, which restarts one that crashes. Stop order
matters: the consumer finishes its batch and commits offsets, the timer loop its batch and the
reconciliation its round, and only then does the relay flush what they wrote, before the shell closes
producer and pool.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import structlog

from services.scheduler.adapters.flows import FlowCatalog
from services.scheduler.unit_of_work.unit import Clock, Units, system_clock
from services.scheduler.usecases.broadcasts import PickWinner
from services.scheduler.usecases.journeys import Journeys
from services.scheduler.workers.backlog_watch import BACKLOG_WATCH, BacklogWatch
from services.scheduler.workers.broadcasts import BROADCASTS, BroadcastLoop
from services.scheduler.workers.duties import Duties
from services.scheduler.workers.intake import CONSUMER, TOPICS, Intake
from services.scheduler.workers.reconciliation import RECONCILE, Reconciliation
from services.scheduler.workers.timers import TimerLoop
from shared.kafka.consumer import ConsumerLoop
from shared.kafka.group_lag import GROUP_LAG, GroupLagWatch
from shared.kafka.segment_roll import SEGMENT_ROLL, SegmentRoll
from shared.outbox import OutboxRelay
from shared.retention import RETENTION, RetentionLoop
from shared.service import Resources
from shared.settings import SchedulerSettings
from shared.workers import Supervisor

log = structlog.get_logger(__name__)


INTAKE = "intake"
RELAY = "outbox-relay"
RELAY_FLUSH_SECONDS = 5.0  # what the relay may take on shutdown to send what is waiting


@dataclass
class Scheduler:
    settings: SchedulerSettings
    units: Units
    journeys: Journeys
    relay: OutboxRelay
    timers: TimerLoop
    intake: Intake
    reconciliation: Reconciliation
    duties: Duties
    broadcasts: BroadcastLoop
    retention: RetentionLoop | None = None
    segment_roll: SegmentRoll | None = None
    consumer: ConsumerLoop | None = None
    _supervisor: Supervisor | None = field(default=None, repr=False)

    def start(self, resources: Resources) -> None:
        """Start this process's duties, each a loop under the service's supervisor."""
        log.info("scheduler.duties", **asdict(self.duties))
        supervisor = self._supervisor = resources.supervisor
        # Every process, whatever its duties: the gauges describe the deployment, not this replica.
        backlog, lag = BacklogWatch(resources.pool, self.units.clock), GroupLagWatch(self.settings)
        supervisor.start(BACKLOG_WATCH, backlog.run, finish=backlog.stop)
        supervisor.start(GROUP_LAG, lag.run, finish=lag.stop)
        if self.duties.relay:
            supervisor.start(RELAY, self.relay.run, finish=self.relay.finish)
            # Beside the relay: what it asks for again goes out through the same outbox.
            supervisor.start(RECONCILE, self.reconciliation.run, finish=self.reconciliation.finish)
        if self.duties.timers:
            for name, run in self.timers.workers().items():
                supervisor.start(name, run, finish=self.timers.finish)
            # Broadcasts beside the timers: both hand out what comes due.
            supervisor.start(BROADCASTS, self.broadcasts.run, finish=self.broadcasts.finish)
            # Beside the timers, which trim contact history: messages, engagement and consent evidence past their age.
            self.retention = RetentionLoop(resources.pool, self.settings)
            supervisor.start(RETENTION, self.retention.run, finish=self.retention.finish)
            # Quiet partitions of contacts.changes still close their segments: the erasure deadline holds.
            self.segment_roll = SegmentRoll(resources.producer, self.settings)
            supervisor.start(SEGMENT_ROLL, self.segment_roll.run, finish=self.segment_roll.finish)
        if self.duties.intake:
            self.consumer = ConsumerLoop(
                self.settings,
                group_id=CONSUMER,
                topics=TOPICS,
                handler=self.intake.handle,
                producer=resources.producer,
                max_records=self.settings.intake_max_records,
            )
            supervisor.start(INTAKE, self.consumer.run, finish=self.consumer.stop)

    @property
    def consuming(self) -> bool:
        """Whether the intake consumer holds partitions (joining a group can take seconds)."""
        return self.consumer is not None and bool(self.consumer.consumer.assignment())

    async def stop(self) -> None:
        supervisor = self._supervisor
        if supervisor is None:
            return
        # Still joining the group: no batch in hand, nothing to commit, no reason to wait for the join.
        grace = self.settings.shutdown_grace_seconds if self.consuming else 0.0
        await supervisor.stop(INTAKE, grace=grace)
        await supervisor.stop(*self.timers.workers(), BROADCASTS, RECONCILE, grace=self.settings.shutdown_grace_seconds)
        if self.retention is not None:
            await supervisor.stop(RETENTION, SEGMENT_ROLL, grace=self.settings.shutdown_grace_seconds)
        await supervisor.stop(RELAY, grace=RELAY_FLUSH_SECONDS)
        await supervisor.stop(BACKLOG_WATCH, GROUP_LAG, grace=self.settings.shutdown_grace_seconds)


def build_scheduler(
    settings: SchedulerSettings,
    resources: Resources,
    clock: Clock = system_clock,
    pick_winner: PickWinner | None = None,
) -> Scheduler:
    relay = OutboxRelay(
        resources.pool, resources.producer, batch_size=settings.outbox_batch, poll_seconds=settings.outbox_poll_seconds
    )
    units = Units(resources.pool, FlowCatalog(), clock, on_records=relay.notify)
    journeys = Journeys(settings)
    timers = TimerLoop(units, journeys, settings)
    units.on_timer = timers.wake
    reconciliation = Reconciliation(resources.pool, settings, on_records=relay.notify)
    intake = Intake(units, journeys)
    broadcasts = BroadcastLoop(units, settings, pick_winner)
    return Scheduler(settings, units, journeys, relay, timers, intake, reconciliation, Duties.of(settings), broadcasts)
