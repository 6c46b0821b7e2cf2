"""Runs the chosen stages on the bench's own stack, one after another, and writes the report."""

from __future__ import annotations

import platform
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import uvloop
from rich.console import Console

from bench import broadcast, e2e, ingest, scheduler, sender, tracker
from bench.harness import BenchProgress, StageResult
from bench.report import write_reports
from bench.sizes import PRESETS, BenchContext, Sizes
from bench.stack import start_bench_stack, stop_bench_stack
from shared.settings import CommonSettings


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    run: Callable[[BenchContext], Awaitable[StageResult]]
    steps: int


STAGES = [
    Stage("ingest-single", "Ingest, single events", ingest.single, 4),
    Stage("ingest-batch", "Ingest, batches", ingest.batch, 4),
    Stage("scheduler-intake", "Scheduler, intake", scheduler.intake, 2),
    Stage("scheduler-timers", "Scheduler, timers", scheduler.timers, 3),
    Stage("sender", "Sender", sender.run, 3),
    Stage("tracker", "Tracker", tracker.run, 5),
    Stage("e2e", "End to end", e2e.run, 1),
    Stage("broadcast", "Broadcast", broadcast.run, 4),
]
STAGE_NAMES = [stage.name for stage in STAGES]


def choose_sizes(*, large: bool, quick: bool) -> Sizes:
    if quick:
        return PRESETS["quick"]
    return PRESETS["large" if large else "default"]


async def run_stages(
    names: Sequence[str], sizes: Sizes, console: Console | None = None, show_progress: bool = True
) -> list[StageResult]:
    chosen = [stage for stage in STAGES if stage.name in names] if names else STAGES
    progress = BenchProgress(sum(stage.steps for stage in chosen), console, enabled=show_progress)
    results: list[StageResult] = []
    with progress.running():
        progress.stage("starting PostgreSQL and the broker")
        stack = await start_bench_stack(CommonSettings().data_dir)
        try:
            for stage in chosen:
                progress.stage(stage.title)
                context = BenchContext(stack, sizes, progress)
                try:
                    results.append(await stage.run(context))
                except Exception as error:  # a broken stage is reported, and the others still run
                    progress.log(traceback.format_exc())
                    results.append(StageResult(stage.name, stage.title, not_measured=f"failed: {error!r}"[:300]))
        finally:
            await stop_bench_stack(stack)
    return results


def machine() -> dict[str, Any]:
    return {
        "cpus": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_average_at_start": [round(x, 2) for x in psutil.getloadavg()],
    }


def run_bench(
    names: Sequence[str], *, large: bool, quick: bool, out_dir: Path, readme: Path | None, console: Console
) -> list[StageResult]:
    unknown = set(names) - set(STAGE_NAMES)
    if unknown:
        raise ValueError(f"unknown stage(s) {sorted(unknown)}; choose from {STAGE_NAMES}")
    sizes = choose_sizes(large=large, quick=quick)
    about = {"machine": machine(), "sizes": sizes.name, "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    results = uvloop.run(run_stages(names, sizes, console))
    write_reports(results, about, out_dir, readme, STAGE_NAMES)
    return results
