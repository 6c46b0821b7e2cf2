"""Scheduler: intake (events → enrollments and timers) and timers (claim and fire).

The timers stage fills the scheduler's own `timers` table with a million pending timers
(ten with `--large`) due days from now, then adds a share that is due, and drains it.
"""

from __future__ import annotations

import time

import asyncpg

from bench.baselines import raw_claim_loop, raw_intake
from bench.enroll import FLOW_ID, enroll, publish_flow, scheduler_process
from bench.harness import MIB, Figure, Latency, StageResult, Target
from bench.sizes import BenchContext
from bench.stack import WORKSPACE
from shared.contract.topics import SIGNUPS

CHUNK = 1_000_000
_PENDING = """
INSERT INTO timers (id, kind, workspace_id, contact_id, enrollment_id, flow_id, due_at)
SELECT $1 || g, 'step', $2, 'c' || (g % 200000), 'e' || g, 'bench-flow',
       now() + interval '1 day' + (g % 2592000) * interval '1 second'
FROM generate_series($3::bigint, $4::bigint) AS g
"""
# Due timers: `offset_s` from now, one every 1/rate s (offset and rate chosen by the caller).
_DUE = """
INSERT INTO timers (id, kind, workspace_id, contact_id, enrollment_id, flow_id, due_at)
SELECT $1 || g, 'step', $2, 'c' || g, 'e' || g, 'bench-flow',
       now() + make_interval(secs => $3 + g / $4)
FROM generate_series(0, $5 - 1) AS g
"""


async def _load_pending(connection: asyncpg.Connection, ctx: BenchContext) -> None:
    total = ctx.sizes.pending_timers
    for start in range(0, total, CHUNK):
        ctx.progress.step(f"{start:,} of {total:,} pending timers written")
        await connection.execute(_PENDING, "p", WORKSPACE, start, min(total, start + CHUNK) - 1)
    await connection.execute("ANALYZE timers")


async def _add_due(connection: asyncpg.Connection, prefix: str, count: int, offset_s: float, rate: float) -> None:
    await connection.execute(_DUE, prefix, WORKSPACE, offset_s, rate, count)


async def timers(ctx: BenchContext) -> StageResult:
    result = StageResult("scheduler-timers", "Scheduler, timers", headline=("dripline", "raw-claim"))
    sizes = ctx.sizes
    connection = await ctx.stack.connect()
    try:
        if await connection.fetchval("SELECT to_regclass('timers')") is None:
            result.not_measured = "the database has no timers table yet (scheduler migrations)"
            ctx.progress.done(3)
            return result
        ctx.progress.step("writing pending timers")
        await _load_pending(connection, ctx)
        size = await connection.fetchval("SELECT pg_total_relation_size('timers')")
        result.extra["database MiB per million pending timers"] = size / MIB / (sizes.pending_timers / 1e6)
        result.extra["pending timers"] = float(sizes.pending_timers)
        ctx.progress.done()

        ctx.progress.step("raw claim loop, backlog drain")
        await _add_due(connection, "rd", sizes.due_timers, -1.0, 1e9)
        drained = await raw_claim_loop(ctx.stack.database_url, sizes.due_timers)
        result.figures.append(
            Figure(
                "raw-claim",
                "baseline",
                drained.count,
                drained.seconds,
                "fires/s",
                note="one worker, batches of 500, FOR UPDATE SKIP LOCKED, delete",
            )
        )
        ctx.progress.done()

        ctx.progress.step("raw claim loop, lateness at a steady rate")
        steady = int(sizes.lateness_rate * sizes.lateness_seconds)
        await _add_due(connection, "rs", steady, 0.5, sizes.lateness_rate)
        paced = await raw_claim_loop(ctx.stack.database_url, steady)
        result.figures.append(
            Figure(
                "raw-claim-steady",
                "baseline",
                paced.count,
                paced.seconds,
                "fires/s",
                Latency.of_seconds(paced.latencies),
                note=f"{sizes.lateness_rate:,.0f} due/s; latency = lateness",
            )
        )
        ctx.progress.done()
        # Making the scheduler's own step timers due early does not work: firing checks the
        # enrollment's wait and re-arms the timer for its real time (correctly). Driving it
        # needs a clock the bench can move, which the service does not expose.
        result.missing = "the scheduler's timers cannot be made due early from outside (no settable clock)"
    finally:
        await connection.execute("DELETE FROM timers WHERE workspace_id = $1", WORKSPACE)
        await connection.close()
    ours = result.figure("dripline")
    steady_ours = result.figure("dripline-steady")
    result.targets = [
        Target("fires/s with 1 M pending", ours.rate if ours else None, 20_000, unit="fires/s"),
        Target("fires / raw claim loop", result.headline_ratio, 0.25),
        Target(
            "lateness p99",
            steady_ours.latency.p99 if steady_ours and steady_ours.latency else None,
            250.0,
            higher_is_better=False,
            unit="ms",
        ),
        Target("process peak RSS", ours.peak_rss_mib if ours else None, 300.0, higher_is_better=False, unit="MiB"),
    ]
    result.notes.append(
        f"{sizes.pending_timers:,} pending timers due in 1–31 days; drain of {sizes.due_timers:,} due timers; "
        f"lateness = fired − due for {steady:,} timers due at {sizes.lateness_rate:,.0f}/s."
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
