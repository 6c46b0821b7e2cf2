"""End to end: a sign-up posted until its email is accepted by SMTP, at a steady rate.

Ingest, scheduler and sender run as their own processes on the bench stack; the flow
sends at once (no wait step), so the latency is the pipeline's own.
"""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import orjson

from bench.harness import Figure, Latency, StageResult, Target
from bench.inbox import InboxProcess
from bench.loadgen import LoadSpec
from bench.processes import ServiceProcess, run_load
from bench.sender import sender_settings
from bench.sizes import BenchContext

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


async def run(ctx: BenchContext) -> StageResult:
    result = StageResult("e2e", "End to end")
    sizes, run_id = ctx.sizes, f"r{int(time.time())}"
    total = int(sizes.e2e_rate * sizes.e2e_seconds)
    await ctx.stack.fresh_topics("e2e")
    ctx.progress.step(f"sign-ups at {sizes.e2e_rate:,.0f}/s → SMTP")
    async with InboxProcess().running() as inbox:
        stack = ctx.stack
        services = [
            ServiceProcess.module("ingest", "services.ingest", stack.service_env(ingest_port="{port}")),
            ServiceProcess.module("scheduler", "services.scheduler", stack.service_env(scheduler_port="{port}")),
            ServiceProcess.module("sender", "services.sender", stack.service_env(**sender_settings(ctx, inbox.port))),
        ]
        try:
            ingest, scheduler, sender = (service.start() for service in services)
            _publish(scheduler, sender, stack.api_key)
            spec = LoadSpec.build(
                ingest.port,
                method="POST",
                paths=["/v1/events"],
                bodies=[signup(n, run_id) for n in range(total)],
                headers={"Authorization": f"Bearer {stack.api_key}"},
            )
            spec = replace(
                spec,
                connections=sizes.connections,
                total=total,
                duration=sizes.e2e_seconds,
                rate=sizes.e2e_rate,
                record_sends=True,
            )
            load = await run_load(spec)
            await inbox.wait_for(load.ok, sizes.load_seconds)
        finally:
            for service in services:
                service.stop()
    index = {f"e2e{n}.{run_id}@example.com": n for n in range(total)}
    latencies = [at - load.sends[index[to]] for at, to in inbox.accepted if index.get(to, total) < len(load.sends)]
    result.figures.append(
        Figure(
            "dripline",
            "dripline",
            len(latencies),
            load.seconds,
            "emails/s",
            Latency.of_seconds(latencies),
            errors=load.failed + load.ok - len(latencies),
            note="sign-up posted → email accepted by SMTP",
        )
    )
    result.figures.append(load.figure("ingest-answer", "dripline", "events/s", note="POST /v1/events answer"))
    for service in services:
        result.extra[f"{service.name} peak RSS MiB"] = service.peak_rss_mib
    ours = result.figures[0].latency
    result.targets = [
        Target("p50", ours.p50 if ours else None, 30.0, higher_is_better=False, unit="ms"),
        Target("p99", ours.p99 if ours else None, 100.0, higher_is_better=False, unit="ms"),
    ]
    result.notes.append(
        f"{total:,} sign-ups offered at {sizes.e2e_rate:,.0f}/s (open loop) to a flow that sends at once; "
        "no baseline: absolute latency."
    )
    ctx.progress.done()
    return result
