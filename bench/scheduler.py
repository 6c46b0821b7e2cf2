"""Scheduler: intake (events → enrollments and timers) and timers (claim and fire)."""

from __future__ import annotations

from bench.harness import StageResult
from bench.sizes import BenchContext


async def intake(ctx: BenchContext) -> StageResult:
    ctx.progress.done(2)
    return StageResult("scheduler-intake", "Scheduler, intake", not_measured="not built yet")


async def timers(ctx: BenchContext) -> StageResult:
    ctx.progress.done(3)
    return StageResult("scheduler-timers", "Scheduler, timers", not_measured="not built yet")
