"""Which of the scheduler's loops one process runs: intake, timers, the outbox relay, the analytics fold.

One process runs them all by default (`make run`). Replicas beyond the partition count leave intake
out; the analytics fold can move to a process of its own, scaled apart from the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import SchedulerSettings


@dataclass(frozen=True)
class Duties:
    intake: bool
    timers: bool
    relay: bool
    analytics: bool

    @classmethod
    def of(cls, settings: SchedulerSettings) -> Duties:
        intake, timers, analytics = settings.scheduler_intake, settings.scheduler_timers, settings.scheduler_analytics
        return cls(
            intake=intake,
            timers=timers,
            # Intake and timers write the outbox rows; a relay beside them is woken on commit, not by its poll.
            relay=intake or timers,
            analytics=intake if analytics is None else analytics,
        )
