"""Scheduler: intake (events → enrollments and timers) and timers (claim and fire).

The timers stage writes a million enrollments (ten with `--large`) waiting on step timers due
days from now, then adds a share that is due, which the real scheduler fires.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.backlog import Backlog, fired_at, write_backlog
from bench.baselines import raw_claim_loop, raw_intake
from bench.enroll import FLOW_ID, enroll, publish_flow, scheduler_process, wait_for_count
from bench.harness import MIB, CpuShare, Figure, Latency, StageResult, Target
from bench.processes import ServiceProcess
from bench.scaleout import POSTGRES, PROCESS_COUNTS, TIMERS, cpu_key, figure_name
from bench.sizes import BenchContext, Sizes
from bench.stack import WORKSPACE
from shared.contract.topics import SIGNUPS

# Filler for the raw claim loop's own runs: due timers it claims and deletes (one every 1/rate s from now + offset).
_DUE = """
INSERT INTO timers (id, kind, workspace_id, contact_id, enrollment_id, flow_id, due_at)
SELECT $1 || g, 'step', $2, 'c' || g, 'e' || g, 'bench-flow',
       now() + make_interval(secs => $3 + g / $4)
FROM generate_series(0, $5 - 1) AS g
"""
_DUE_BY = "SELECT count(*) FROM timers WHERE due_at <= $1"
_SIZE = "SELECT pg_total_relation_size('timers'), pg_total_relation_size('enrollments')"


async def _add_due(connection: asyncpg.Connection, prefix: str, count: int, offset_s: float, rate: float) -> None:
    await connection.execute(_DUE, prefix, WORKSPACE, offset_s, rate, count)


async def _backlog(ctx: BenchContext, connection: asyncpg.Connection) -> Backlog:
    with scheduler_process(ctx) as scheduler:
        await publish_flow(scheduler, ctx.stack.api_key)
    version = await connection.fetchval(
        "SELECT current_version FROM flows WHERE workspace_id = $1 AND flow_id = $2", WORKSPACE, FLOW_ID
    )
    return Backlog.of(int(version))


def _timer_replica(ctx: BenchContext) -> ServiceProcess:
    """A scheduler process that only fires timers and relays (no intake): how the scheduler scales out."""
    env = ctx.stack.service_env(scheduler_port="{port}", scheduler_intake="false")
    return ServiceProcess.module("scheduler-timers", "services.scheduler", env)


@dataclass
class _Fired:
    lateness: list[float]  # each one's fired − due, s
    span: float  # seconds from first to last fire
    peak_rss_mib: float  # the scheduler's
    cores: dict[str, float]  # CPU each busy program used while it fired
    cpu_ms: dict[str, float]  # CPU ms per fire of the scheduler processes (all together) and PostgreSQL


async def _fire(
    ctx: BenchContext,
    connection: asyncpg.Connection,
    backlog: Backlog,
    prefix: str,
    due: list[datetime],
    *,
    replicas: int = 0,
) -> _Fired:
    """Write due enrollments while the scheduler (and `replicas` timer-only processes) run; wait until
    they fired them all."""
    with contextlib.ExitStack() as running:
        scheduler = running.enter_context(scheduler_process(ctx))
        for _ in range(replicas):
            running.enter_context(_timer_replica(ctx))
        written = datetime.now(UTC)
        await write_backlog(connection, backlog, prefix, due, with_contacts=True)
        cpu = CpuShare().start()
        # Fire times come from the enrollments afterwards: polling only says when to stop, so it
        # stays rare (counting a large due backlog is PostgreSQL work the scheduler competes with).
        await wait_for_count(connection, _DUE_BY, (max(due),), 0, ctx.sizes.load_seconds * 4, falling=True, every=0.25)
        cores = cpu.stop(top=4)
    fired = await fired_at(connection, prefix, written)
    lateness = [(fired[f"{prefix}-{n}"] - at).total_seconds() for n, at in enumerate(due) if f"{prefix}-{n}" in fired]
    span = (max(fired.values()) - min(fired.values())).total_seconds() if len(fired) > 1 else 0.0
    cpu_ms = cpu.per_item_ms(len(lateness), [TIMERS.program, POSTGRES])
    return _Fired(lateness, span, scheduler.peak_rss_mib, cores, cpu_ms)


def _drain_figure(sizes: Sizes, processes: int, fired: _Fired, note: str) -> Figure:
    count = len(fired.lateness)
    return Figure(
        figure_name(processes), "dripline", count, fired.span, "fires/s", errors=sizes.due_timers - count,
        peak_rss_mib=fired.peak_rss_mib, note=note,
    )  # fmt: skip


def _due_now(sizes: Sizes) -> list[datetime]:
    """A backlog of due timers, due over the last minute."""
    start = datetime.now(UTC) - timedelta(seconds=60)
    return [start + timedelta(seconds=60 * n / sizes.due_timers) for n in range(sizes.due_timers)]


async def timers(ctx: BenchContext) -> StageResult:
    result = StageResult("scheduler-timers", "Scheduler, timers", headline=("dripline", "raw-claim"))
    sizes = ctx.sizes
    steady = int(sizes.lateness_rate * sizes.lateness_seconds)
    connection = await ctx.stack.connect()
    try:
        ctx.progress.step(f"writing {sizes.pending_timers:,} waiting enrollments")
        backlog = await _backlog(ctx, connection)
        now = datetime.now(UTC)
        pending = [now + timedelta(days=1, seconds=n % 2_592_000) for n in range(sizes.pending_timers)]
        await write_backlog(connection, backlog, "tp", pending)
        await connection.execute("ANALYZE timers; ANALYZE enrollments")
        timers_size, enrollments_size = await connection.fetchrow(_SIZE)
        per_million = sizes.pending_timers / 1e6
        result.extra["database MiB per million pending timers"] = timers_size / MIB / per_million
        result.extra["database MiB per million waiting enrollments"] = enrollments_size / MIB / per_million
        result.extra["pending timers"] = float(sizes.pending_timers)
        ctx.progress.done()

        ctx.progress.step("raw claim loop")
        await _add_due(connection, "rd", sizes.due_timers, -1.0, 1e9)
        drained = await raw_claim_loop(ctx.stack.database_url, sizes.due_timers)
        result.figures.append(
            Figure(
                "raw-claim", "baseline", drained.count, drained.seconds, "fires/s",
                note="one worker, batches of 500, FOR UPDATE SKIP LOCKED, delete",
            )
        )  # fmt: skip
        await _add_due(connection, "rs", steady, 0.5, sizes.lateness_rate)
        paced = await raw_claim_loop(ctx.stack.database_url, steady)
        result.figures.append(
            Figure(
                "raw-claim-steady", "baseline", paced.count, paced.seconds, "fires/s",
                Latency.of_seconds(paced.latencies), note=f"{sizes.lateness_rate:,.0f} due/s; latency = lateness",
            )
        )  # fmt: skip
        ctx.progress.done()

        ctx.progress.step(f"scheduler firing {sizes.due_timers:,} due timers")
        fired = await _fire(ctx, connection, backlog, "td", _due_now(sizes))
        for program, share in fired.cores.items():
            result.extra[f"CPU cores while draining: {program}"] = share
        note = "backlog drain, first → last fire; each fire: claim → engine → state + outbox"
        result.figures.append(_drain_figure(sizes, 1, fired, note))
        for program, ms in fired.cpu_ms.items():
            result.extra[cpu_key(TIMERS, 1, program)] = ms
        # Scale-out: the scheduler and timer-only replicas (prefixes t2, t4) drain the same backlog.
        for processes in PROCESS_COUNTS[1:] if sizes.comparisons else ():
            ctx.progress.step(f"{processes} scheduler processes firing {sizes.due_timers:,} due timers")
            fired = await _fire(ctx, connection, backlog, f"t{processes}", _due_now(sizes), replicas=processes - 1)
            note = (
                f"backlog drain by the scheduler and {processes - 1} timer-only replica"
                f"{'s' if processes > 2 else ''} (scale-out on the same machine)"
            )
            result.figures.append(_drain_figure(sizes, processes, fired, note))
            for program, ms in fired.cpu_ms.items():
                result.extra[cpu_key(TIMERS, processes, program)] = ms
        # At the target's rate (more than one process fires), then at a rate it keeps up with.
        steady_runs = [("dripline-steady", "tl", sizes.lateness_rate)]
        if sizes.comparisons:
            rate = sizes.lateness_sustainable_rate
            steady_runs.append((f"dripline-steady-{rate:.0f}", "ts", rate))
        for name, prefix, rate in steady_runs:
            ctx.progress.step(f"scheduler, timers due at {rate:,.0f}/s")
            count = int(rate * sizes.lateness_seconds)
            start = datetime.now(UTC) + timedelta(seconds=3)
            due = [start + timedelta(seconds=n / rate) for n in range(count)]
            fired = await _fire(ctx, connection, backlog, prefix, due)
            result.figures.append(
                Figure(
                    name, "dripline", len(fired.lateness), fired.span, "fires/s", Latency.of_seconds(fired.lateness),
                    errors=count - len(fired.lateness), peak_rss_mib=fired.peak_rss_mib,
                    note=f"{rate:,.0f} due/s; latency = lateness (fired − due)",
                )
            )  # fmt: skip
        ctx.progress.done()
    finally:
        # The bench's own database: the backlog goes at once rather than row by row.
        await connection.execute("TRUNCATE timers, enrollments")
        await connection.execute("DELETE FROM contacts WHERE workspace_id = $1 AND contact_id LIKE 't_-c%'", WORKSPACE)
        await connection.close()
    ours, steady_ours = result.figure("dripline"), result.figure("dripline-steady")
    result.targets = [
        Target(
            f"fires/s with {sizes.pending_timers / 1e6:g} M pending",
            ours.rate if ours else None,
            20_000,
            unit="fires/s",
        ),
        Target("fires / raw claim loop", result.headline_ratio, 0.25),
        Target(
            "lateness p99",
            steady_ours.latency.p99 if steady_ours and steady_ours.latency else None,
            250.0,
            higher_is_better=False,
            unit="ms",
        ),
        Target(
            "process peak RSS",
            max(f.peak_rss_mib or 0 for f in (ours, steady_ours) if f) if ours else None,
            300.0,
            higher_is_better=False,
            unit="MiB",
        ),
    ]
    result.notes.append(
        f"{sizes.pending_timers:,} enrollments waiting on their step timer, due in 1–31 days (the engine's own "
        f"states, written with COPY); then {sizes.due_timers:,} due ones drained, and {steady:,} due at "
        f"{sizes.lateness_rate:,.0f}/s for lateness (fired − due), by the real scheduler process; the lateness "
        f"target is judged at that rate, and a run at {sizes.lateness_sustainable_rate:,.0f}/s shows it "
        "when one process keeps up."
    )
    return result


async def intake(ctx: BenchContext) -> StageResult:
    result = StageResult("scheduler-intake", "Scheduler, intake", headline=("dripline", "raw-consumer"))
    count, run = ctx.sizes.intake_events, f"i{int(time.time())}"
    await ctx.stack.fresh_topics("intake")
    connection = await ctx.stack.connect()
    try:
        ctx.progress.step("sign-ups → enrollments and timers")
        with scheduler_process(ctx) as scheduler:
            await publish_flow(scheduler, ctx.stack.api_key)
            seconds, written = await enroll(ctx, count, run, connection)
        result.figures.append(
            Figure(
                "dripline",
                "dripline",
                written,
                seconds,
                "events/s",
                errors=count - written,
                peak_rss_mib=scheduler.peak_rss_mib,
                note="produce start → last timer written",
            )
        )
        ctx.progress.done()
        ctx.progress.step("raw consumer writing the same rows")
        state = await connection.fetchval("SELECT state::text FROM enrollments WHERE flow_id = $1 LIMIT 1", FLOW_ID)
        timed = await raw_intake(
            ctx.stack.bootstrap,
            SIGNUPS.full_name(ctx.stack.topic_prefix),
            ctx.stack.database_url,
            expected=written,
            flow_id=FLOW_ID + "-raw",
            state=state or "{}",
            timeout=ctx.sizes.load_seconds * 4,
        )
        result.figures.append(
            Figure(
                "raw-consumer",
                "baseline",
                timed.count,
                timed.seconds,
                "events/s",
                note="one enrollment and one timer per record, a batch per transaction",
            )
        )
        ctx.progress.done()
    finally:
        await connection.execute("DELETE FROM timers WHERE flow_id = $1", FLOW_ID + "-raw")
        await connection.close()
    result.notes.append(f"{count:,} sign-ups on shop.signups into a flow that waits a day, then sends.")
    return result
