"""Broadcast: a newsletter to a segment of `broadcast_recipients` contacts, resolved, requested and delivered.

The contacts, their marketing consent and the segment's membership are written set-based first (what a
shop's import and a segment's evaluation leave). The scheduler's broadcast use case then runs in this
process on the bench's database, with its outbox relay: resolution (the audience frozen into recipients,
`INSERT ... SELECT` batches) is timed alone, then the requests (each judged by the workspace policy and
written with its outbox record) are timed while a sender process delivers them to the SMTP inbox process.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import asyncpg

from bench.baselines import raw_smtp
from bench.harness import CpuShare, Figure, Latency, StageResult, Target
from bench.inbox import InboxProcess
from bench.processes import Profiler, ServiceProcess
from bench.scaleout import POSTGRES
from bench.sender import pre_rendered, publish, requests, seed_contacts, sender_settings
from bench.sizes import BenchContext
from bench.stack import WORKSPACE
from services.scheduler.adapters.broadcasts import change_state, create_broadcast
from services.scheduler.adapters.flows import FlowCatalog
from services.scheduler.adapters.policy import save_policy
from services.scheduler.domain import WorkspacePolicy
from services.scheduler.domain.broadcasts import Broadcast, SegmentAudience, SendNow
from services.scheduler.unit_of_work.unit import Units
from services.scheduler.usecases.broadcasts import BroadcastSending
from services.sender.adapters.templates import TemplateStore
from shared.kafka.producer import Producer
from shared.outbox import OutboxRelay
from shared.serve import tune_garbage_collector
from shared.settings import CommonSettings, SchedulerSettings

TEMPLATE = """\
id: bench-news
category: marketing
subject: "News for {{ contact.first_name | default: 'you' }}"
preheader: "What is new at the shop this month"
html: |
  <html><body><p>Hi {{ contact.first_name | default: "there" }}, here is what is new this month.</p></body></html>
text: |
  Hi {{ contact.first_name | default: "there" }}, here is what is new this month.
"""
# Contacts, their marketing subscription and the segment's members, each in one statement.
_CONTACTS = """
INSERT INTO contacts (workspace_id, contact_id, profile)
SELECT $1, $2 || '-' || n, jsonb_build_object('email', 'reader' || n || '.' || $2 || '@example.com',
       'first_name', 'Reader', 'timezone', 'Europe/Oslo')
FROM generate_series(1, $3) AS n
"""
_SUBSCRIBED = """
INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status)
SELECT $1, $2 || '-' || n, '*', 'subscribed' FROM generate_series(1, $3) AS n
"""
_MEMBERS = """
INSERT INTO segment_members (workspace_id, segment_id, contact_id, entered_at)
SELECT $1, $2, $2 || '-' || n, now() FROM generate_series(1, $3) AS n
"""


async def _seed(pool: asyncpg.Pool, run_id: str, count: int) -> None:
    await TemplateStore(pool).publish(WORKSPACE, TEMPLATE)
    # No grace delay, caps or quiet hours: the stage measures capacity, not a workspace's chosen pace.
    await save_policy(pool, WORKSPACE, WorkspacePolicy())
    async with pool.acquire() as connection, connection.transaction():
        for statement in (_CONTACTS, _SUBSCRIBED, _MEMBERS):
            await connection.execute(statement, WORKSPACE, run_id, count)


async def _step_until(sending: BroadcastSending, broadcast_id: str, *, resolving: bool) -> int:
    """Step the broadcast until resolution is over (`resolving`) or it is sent; returns recipients handled."""
    handled = 0
    while True:
        done = await sending.step(WORKSPACE, broadcast_id)
        handled += done.resolved if resolving else done.requested + done.held
        if done.finished or (resolving and done.resolution_over):
            return handled


async def _timed(result: StageResult, name: str, sending: BroadcastSending, broadcast_id: str, note: str) -> int:
    """Resolve (`resolved`) or request (`requested`) the whole audience, as a figure in recipients/s, with the
    CPU it took: on a shared machine the CPU per recipient compares runs where the rate cannot."""
    cpu, began, python_began = CpuShare().start(), time.perf_counter(), time.process_time()
    count = await _step_until(sending, broadcast_id, resolving=name == "resolved")
    seconds, python_seconds = time.perf_counter() - began, time.process_time() - python_began
    for program, cores in cpu.stop().items():
        result.extra[f"CPU cores while {name}: {program}"] = cores
    per_recipient = 1_000_000 / max(count, 1)
    result.extra[f"PostgreSQL CPU µs per recipient {name}"] = round(
        per_recipient * cpu.cpu_seconds.get(POSTGRES, 0.0), 1
    )
    result.extra[f"scheduler use case CPU µs per recipient {name}"] = round(per_recipient * python_seconds, 1)
    result.figures.append(Figure(name, "dripline", count, seconds, "recipients/s", note=note))
    return count


async def run(ctx: BenchContext) -> StageResult:
    result = StageResult("broadcast", "Broadcast", headline=("delivered", "raw-smtp"))
    count, run_id = ctx.sizes.broadcast_recipients, f"b{int(time.time())}"
    settings = ctx.stack.settings(SchedulerSettings)
    pool = await asyncpg.create_pool(ctx.stack.database_url, min_size=2, max_size=4)
    assert pool is not None
    producer = Producer(ctx.stack.settings(CommonSettings))
    await producer.start()
    relay = OutboxRelay(pool, producer, batch_size=settings.outbox_batch, poll_seconds=0.05)
    units = Units(pool, FlowCatalog(), on_records=relay.notify)
    sending = BroadcastSending(units, settings)
    relaying = asyncio.create_task(relay.run())
    # The use case runs here, so `bench.profile broadcast` records this process (not the sender and inbox
    # it starts: they are recorded on their own) beside the sender.
    spy = Profiler.attach("use-case", os.getpid(), subprocesses=False)
    try:
        ctx.progress.step(f"seeding {count:,} contacts in a segment")
        await _seed(pool, run_id, count)
        spec = Broadcast(
            id=run_id,
            name="Bench news",
            templates=("bench-news",),
            audience=SegmentAudience(segment=run_id),
            schedule=SendNow(),
        )
        await create_broadcast(pool, WORKSPACE, spec)
        async with pool.acquire() as connection:
            await change_state(connection, WORKSPACE, run_id, "schedule", datetime.now(UTC))
        ctx.progress.done()
        with _scheduler_gc():
            await _timed_stages(ctx, result, sending, run_id)
    finally:
        Profiler.detach(spy)
        relay.finish()
        await relaying
        await producer.stop()
        await pool.close()
    # The bench process runs the scheduler's broadcast use case and its relay: its peak is theirs (Linux: KiB).
    result.extra["peak RSS MiB: scheduler use case and relay (bench process)"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    figure = result.figure("resolved")
    result.targets = [
        Target("resolution", figure.rate if figure else None, 50_000, unit="recipients/s"),
        Target("delivery / raw SMTP", result.headline_ratio, 0.7),
    ]
    result.notes.append(
        f"{count:,} subscribed contacts in one segment; the broadcast use case and its outbox relay run in the "
        f"bench process, one sender process delivers over {ctx.sizes.smtp_connections} SMTP connections to the "
        "inbox process (rate limit lifted)."
    )
    return result


@contextmanager
def _scheduler_gc() -> Iterator[None]:
    """The scheduler process's garbage-collector settings while the use case runs here, undone after: the
    test suite runs the stages in its own process and goes on."""
    thresholds = gc.get_threshold()
    tune_garbage_collector()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


async def _timed_stages(ctx: BenchContext, result: StageResult, sending: BroadcastSending, run_id: str) -> None:
    """Resolution, then requests while one sender process delivers them, then the raw SMTP baseline."""
    async with InboxProcess().running() as inbox:
        env = ctx.stack.service_env(**sender_settings(ctx, inbox.port))
        with ServiceProcess.module("sender", "services.sender", env) as server:
            await _warm_up(ctx, inbox, f"w{run_id}")
            ctx.progress.step("resolving the audience")
            await sending.step(WORKSPACE, run_id)  # scheduled → sending
            await _timed(result, "resolved", sending, run_id, "segment → broadcast_recipients, set-based")
            ctx.progress.done()
            ctx.progress.step("requested → SMTP")
            started = time.time()
            requested = await _timed(result, "requested", sending, run_id, "judged by policy, request in the outbox")
            await inbox.wait_for(requested, ctx.sizes.load_seconds * 10)
            accepted = [at for at, to in inbox.accepted if run_id in to]
            if accepted:
                result.extra["seconds to first SMTP accept"] = round(min(accepted) - started, 2)
                result.extra["seconds to last SMTP accept"] = round(max(accepted) - started, 2)
                result.figures.append(
                    Figure(
                        "delivered",
                        "dripline",
                        len(accepted),
                        max(accepted) - started,
                        "messages/s",
                        errors=requested - len(accepted),
                        peak_rss_mib=server.peak_rss_mib,
                        note="first request → last SMTP accept",
                    )
                )
            else:
                result.missing = "no requested message reached the inbox"
            ctx.progress.done()
        ctx.progress.step("raw aiosmtplib")
        await _raw_baseline(ctx, result, inbox, run_id)
        ctx.progress.done()


async def _warm_up(ctx: BenchContext, inbox: InboxProcess, run_id: str, count: int = 20) -> None:
    """A few messages through the new sender process first: its consumer joins the group and its SMTP
    connections open, as a running deployment's have, so delivery is timed from the first request."""
    await seed_contacts(ctx.stack.database_url, count, run_id)
    await publish(ctx.stack.settings(CommonSettings), requests(count, run_id))
    await inbox.wait_for(count, ctx.sizes.load_seconds * 2)
    inbox.accepted.clear()


async def _raw_baseline(ctx: BenchContext, result: StageResult, inbox: InboxProcess, run_id: str) -> None:
    """The delivery floor: pre-rendered messages over the same number of SMTP connections to the same inbox
    (at most the sender stage's count: a rate needs no more)."""
    messages = pre_rendered(min(ctx.sizes.broadcast_recipients, ctx.sizes.sender_messages), f"{run_id}raw")
    timed = await raw_smtp(inbox.port, messages, connections=ctx.sizes.smtp_connections)
    result.figures.append(
        Figure("raw-smtp", "baseline", timed.count, timed.seconds, "messages/s", Latency.of_seconds(timed.latencies),
               note="same connections, pre-rendered")
    )  # fmt: skip
