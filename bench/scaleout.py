"""Scale-out: the timer and sender stages drained by 1, 2 and 4 processes of the service.

The stages name their figures and CPU counters here, and the report reads them back by the same
names, so a table of processes → rate, factor and CPU per unit can be built from results.json alone.
"""

from __future__ import annotations

from dataclasses import dataclass

PROCESS_COUNTS = (1, 2, 4)
POSTGRES = "postgres"


@dataclass(frozen=True)
class ScaledStage:
    stage: str  # the stage's name in results.json
    unit: str  # one unit of work, for the CPU counters
    program: str  # the service's module, as CpuShare names its processes
    column: str  # the rate's heading in the report


TIMERS = ScaledStage("scheduler-timers", "fire", "services.scheduler", "fires/s")
SENDER = ScaledStage("sender", "message", "services.sender", "emails/s")
SCALED_STAGES = (TIMERS, SENDER)


def figure_name(processes: int) -> str:
    """The stage's figure for a drain by `processes` processes (one is the stage's headline figure)."""
    return "dripline" if processes == 1 else f"dripline-{processes}-processes"


def cpu_key(scaled: ScaledStage, processes: int, program: str) -> str:
    """The stage's extra entry: CPU milliseconds `program` spent per unit while `processes` drained."""
    return f"CPU ms per {scaled.unit}, {processes} process{'es' if processes > 1 else ''}: {program}"
