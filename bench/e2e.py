"""End to end: a sign-up posted until its email is accepted by SMTP, at a steady rate.

Ingest, scheduler and sender run as their own processes on the bench stack; the flow
sends at once (no wait step), so the latency is the pipeline's own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import httpx
import orjson

from bench.harness import CpuShare, Figure, Latency, StageResult, Target
from bench.hops import HOPS, hop_times
from bench.inbox import InboxProcess
from bench.loadgen import LoadSpec
from bench.processes import LoadResult, ServiceProcess, run_load
from bench.sender import sender_settings
from bench.sizes import BenchContext
from shared.settings import CommonSettings

FLOW = """\
id: bench-welcome
name: Bench welcome
category: transactional
triggers:
  - type: event
    event: signup
entry:
  frequency: once
steps:
  - id: hello
    type: send
    template: bench-hello
    category: transactional
"""
TEMPLATE = """\
id: bench-hello
category: transactional
subject: "Welcome, {{ contact.first_name | default: 'there' }}"
preheader: "Good to have you"
html: |
  <!doctype html>
  <html><body><p>Hi {{ contact.first_name | default: "there" }}, welcome aboard.</p></body></html>
text: |
  Hi {{ contact.first_name | default: "there" }}, welcome aboard.
"""


def signup(n: int, run: str) -> bytes:
    email = f"e2e{n}.{run}@example.com"
    return orjson.dumps({"type": "signup", "contact": {"email": email, "first_name": "Kari"}, "source": "bench"})


def _publish(scheduler: ServiceProcess, sender: ServiceProcess, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(headers=headers, timeout=30) as client:
        answer = client.post(f"http://127.0.0.1:{sender.port}/v1/templates", json={"source": TEMPLATE})
        answer.raise_for_status()
        answer = client.post(f"http://127.0.0.1:{scheduler.port}/v1/flows", json={"source": FLOW})
        answer.raise_for_status()
        # The intake stage's flow (wait a day) must not take part: only this flow's work is timed.
        client.post(f"http://127.0.0.1:{scheduler.port}/v1/flows/bench-wait/pause")


@dataclass
class Offered:
    """A run at one rate: when each email's sign-up was posted and when its email was accepted."""

    load: LoadResult
    posted: dict[str, float]
    accepted: list[tuple[float, str]]

    def latencies(self) -> list[float]:
        return [at - self.posted[to] for at, to in self.accepted if to in self.posted]

    def seconds(self) -> float:
        """From the first sign-up posted to the last of their emails accepted: what the rate is over."""
        arrived = [at for at, to in self.accepted if to in self.posted]
        return max(arrived) - min(self.posted.values()) if arrived else 0.0


# How many load runs' time the backlog of an overloaded run may take to drain (1,000/s on two cores:
# about four times the 20 s of offering).
_DRAIN_LOAD_TIMES = 6


async def _offer(ctx: BenchContext, ingest: ServiceProcess, inbox: InboxProcess, rate: float, run_id: str) -> Offered:
    """Sign-ups at a steady `rate` for the stage's duration, until their emails arrived (or time ran out).

    Waiting for the backlog to drain makes the run's CPU the whole cost of its sign-ups, none left queued."""
    total = int(rate * ctx.sizes.e2e_seconds)
    spec = LoadSpec.build(
        ingest.port,
        method="POST",
        paths=["/v1/events"],
        bodies=[signup(n, run_id) for n in range(total)],
        headers={"Authorization": f"Bearer {ctx.stack.api_key}"},
    )
    spec = replace(
        spec, connections=ctx.sizes.connections, total=total, duration=ctx.sizes.e2e_seconds, rate=rate,
        record_sends=True,
    )  # fmt: skip
    inbox.accepted.clear()
    load = await run_load(spec)
    await inbox.wait_for(load.ok, ctx.sizes.load_seconds * _DRAIN_LOAD_TIMES)
    posted = {f"e2e{n}.{run_id}@example.com": at for n, at in enumerate(load.sends)}
    return Offered(load, posted, list(inbox.accepted))


async def _warm_up(ctx: BenchContext, ingest: ServiceProcess, inbox: InboxProcess, run_id: str) -> None:
    """A few sign-ups through the whole pipeline first: consumers join their groups (seconds on the
    local broker) and connections open, so the measured runs see the pipeline's steady state."""
    count = 20
    headers = {"Authorization": f"Bearer {ctx.stack.api_key}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest.port}", headers=headers, timeout=30) as client:
        for n in range(count):
            (await client.post("/v1/events", content=signup(n, run_id))).raise_for_status()
    await inbox.wait_for(count, ctx.sizes.load_seconds * 2)


async def _add_hops(ctx: BenchContext, result: StageResult, offered: Offered, rate: float) -> None:
    """Split the light run's latency into hops, from the record timestamps on the broker."""
    hops = await hop_times(ctx.stack.settings(CommonSettings), offered.posted, offered.accepted)
    notes = dict(HOPS)
    for name, seconds in hops.items():
        result.figures.append(
            Figure(
                f"{name}-{rate:.0f}", "dripline", len(seconds), offered.seconds(), "emails/s",
                Latency.of_seconds(seconds), note=f"{notes[name]}, at {rate:,.0f} sign-ups/s",
            )
        )  # fmt: skip


DRIPLINE_PROGRAMS = "Dripline's programs (ingest, scheduler, sender, PostgreSQL, broker)"
_OURS = ("services.ingest", "services.scheduler", "services.sender", "postgres")


def dripline_cpu_ms(cpu_seconds: dict[str, float], sign_ups: int) -> float:
    """CPU milliseconds per sign-up that what a shop deploys spent (not the load generator, not the inbox)."""
    spent = sum(seconds for name, seconds in cpu_seconds.items() if name in _OURS or name.startswith("tansu"))
    return round(1000 * spent / max(sign_ups, 1), 2)


async def run(ctx: BenchContext) -> StageResult:
    result = StageResult("e2e", "End to end", headline=("dripline", ""))
    sizes, run_id = ctx.sizes, f"r{int(time.time())}"
    middle = [sizes.e2e_sustainable_rate] if sizes.comparisons else []
    rates = [sizes.e2e_light_rate, *middle, sizes.e2e_rate]
    ours_ms: dict[float, float] = {}
    await ctx.stack.fresh_topics("e2e")
    async with InboxProcess().running() as inbox:
        stack = ctx.stack
        sending = sender_settings(ctx, inbox.port, ctx.sizes.e2e_smtp_connections)
        services = [
            ServiceProcess.module("ingest", "services.ingest", stack.service_env(ingest_port="{port}")),
            ServiceProcess.module("scheduler", "services.scheduler", stack.service_env(scheduler_port="{port}")),
            ServiceProcess.module("sender", "services.sender", stack.service_env(**sending)),
        ]
        try:
            ingest, scheduler, sender = (service.start() for service in services)
            _publish(scheduler, sender, stack.api_key)
            await _warm_up(ctx, ingest, inbox, f"{run_id}-warm")
            for rate in rates:
                ctx.progress.step(f"sign-ups at {rate:,.0f}/s → SMTP")
                cpu = CpuShare().start()
                offered = await _offer(ctx, ingest, inbox, rate, f"{run_id}-{rate:.0f}")
                load, latencies = offered.load, offered.latencies()
                for program, cores in cpu.stop().items():
                    result.extra[f"CPU cores at {rate:,.0f}/s: {program}"] = cores
                total_ms = 1000 * sum(cpu.cpu_seconds.values()) / max(len(latencies), 1)
                every = "all programs, load generator and inbox too"
                result.extra[f"CPU ms per sign-up at {rate:,.0f}/s, {every}"] = round(total_ms, 2)
                ours_ms[rate] = dripline_cpu_ms(cpu.cpu_seconds, len(latencies))
                result.extra[f"CPU ms per sign-up at {rate:,.0f}/s, {DRIPLINE_PROGRAMS}"] = ours_ms[rate]
                name = "dripline" if rate == sizes.e2e_rate else f"dripline-{rate:.0f}"
                result.figures.append(
                    Figure(
                        name, "dripline", len(latencies), offered.seconds(), "emails/s", Latency.of_seconds(latencies),
                        errors=load.failed + load.ok - len(latencies),
                        note=f"sign-up posted → email accepted by SMTP, {rate:,.0f} sign-ups/s offered",
                    )
                )  # fmt: skip
                result.figures.append(
                    load.figure(f"ingest-answer-{rate:.0f}", "dripline", "events/s", note="POST /v1/events answer")
                )
                if rate == sizes.e2e_light_rate:
                    await _add_hops(ctx, result, offered, rate)
        finally:
            for service in services:
                service.stop()
    for service in services:
        result.extra[f"{service.name} peak RSS MiB"] = service.peak_rss_mib
    target = result.figure("dripline")
    ours = target.latency if target else None
    result.targets = [
        Target(f"p50 at {sizes.e2e_rate:,.0f}/s", ours.p50 if ours else None, 30.0, higher_is_better=False, unit="ms"),
        Target(f"p99 at {sizes.e2e_rate:,.0f}/s", ours.p99 if ours else None, 100.0, higher_is_better=False, unit="ms"),
        Target(
            f"CPU per sign-up at {sizes.e2e_rate:,.0f}/s, {DRIPLINE_PROGRAMS}",
            ours_ms.get(sizes.e2e_rate),
            1.5,
            higher_is_better=False,
            unit="ms",
        ),
    ]
    result.notes.append(
        f"Sign-ups offered for {sizes.e2e_seconds:g} s each at {sizes.e2e_light_rate:,.0f}/s, "
        f"{sizes.e2e_sustainable_rate:,.0f}/s and {sizes.e2e_rate:,.0f}/s (open loop), to a flow that sends at "
        f"once, over {sizes.e2e_smtp_connections} SMTP connections, after 20 warm-up sign-ups went all the way "
        "(consumers joined); no baseline: absolute latency. The hop rows split the light run's latency by the "
        "time each record was written to the broker (its producer's timestamp)."
    )
    ctx.progress.done()
    return result
