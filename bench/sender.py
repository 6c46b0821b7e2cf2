"""Sender: requested messages → rendered → accepted by the SMTP inbox, against a raw SMTP loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.baselines import raw_smtp
from bench.harness import CpuShare, Figure, Latency, StageResult, Target
from bench.inbox import InboxProcess
from bench.processes import ServiceProcess
from bench.render import EXAMPLE_TEMPLATE, render_rate
from bench.scaleout import POSTGRES, PROCESS_COUNTS, SENDER, cpu_key, figure_name
from bench.sizes import BenchContext
from bench.stack import WORKSPACE
from services.ingest.adapters.consent import record_consent
from services.ingest.domain.imports import import_consent
from services.sender.adapters.templates import TemplateStore
from services.sender.domain.rendering.template import load_template
from services.sender.usecases.mail import MailComposer
from shared.contract.internal import MessageRequested
from shared.contract.topics import MESSAGES_REQUESTED
from shared.kafka.producer import Producer
from shared.settings import CommonSettings, SenderSettings

TEMPLATE_ID = "order-thanks"
_HEARTBEAT_MS = 500  # rebalances settle in a second when sender processes join the group
VARIABLES: dict[str, Any] = {
    "order": {
        "total": "1234.50",
        "currency": "NOK",
        "items": [{"name": f"Item {i}", "url": f"https://shop.example/p/{i}"} for i in range(2)],
    },
    "event": {"occurred_at": "2024-03-01T23:30:00Z"},
}


def address(n: int, run: str) -> str:
    return f"reader{n}.{run}@example.com"


def profile(n: int, run: str) -> dict[str, Any]:
    return {"email": address(n, run), "first_name": "Åse", "locale": "nb", "timezone": "Europe/Oslo"}


async def seed_contacts(database_url: str, count: int, run: str) -> None:
    """Contacts with an email address and marketing consent, and the template, as an import and a publish
    would leave them: the request is marketing mail, which goes only to subscribed contacts."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    assert pool is not None
    try:
        await TemplateStore(pool).publish(WORKSPACE, EXAMPLE_TEMPLATE)
        rows = [(WORKSPACE, f"{run}-{n}", _json(profile(n, run))) for n in range(count)]
        await pool.executemany(
            "INSERT INTO contacts (workspace_id, contact_id, profile) VALUES ($1, $2, $3::jsonb) "
            "ON CONFLICT (workspace_id, contact_id) DO UPDATE SET profile = excluded.profile",
            rows,
        )
        consent = import_consent([], None, datetime.now(UTC))
        async with pool.acquire() as connection, connection.transaction():
            for n in range(count):
                await record_consent(connection, WORKSPACE, f"{run}-{n}", f"{run}-import-{n}", consent)
    finally:
        await pool.close()


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value)


def requests(count: int, run: str, first: int = 0) -> list[MessageRequested]:
    now = datetime.now(UTC)
    return [
        MessageRequested(
            event_id=f"{run}-msg-{n}",
            workspace_id=WORKSPACE,
            contact_id=f"{run}-{n}",
            occurred_at=now,
            received_at=now,
            flow_id="bench-flow",
            step_id="thanks",
            channel="email",
            template_id=TEMPLATE_ID,
            variables=VARIABLES,
        )
        for n in range(first, first + count)
    ]


def sender_settings(ctx: BenchContext, smtp_port: int, connections: int | None = None) -> dict[str, str]:
    # The rate limit is lifted: the bench measures capacity, not a shop's chosen sending pace.
    return {
        "sender_port": "{port}",
        "smtp_port": str(smtp_port),
        "smtp_starttls": "false",
        "smtp_connections": str(connections or ctx.sizes.smtp_connections),
        "smtp_rate_per_second": "1000000",
    }


async def publish(settings: CommonSettings, records: list[MessageRequested]) -> dict[str, float]:
    """Put the requests on the topic; returns when each was acknowledged, by recipient id."""
    producer = Producer(settings)
    await producer.start()
    try:
        await producer.publish(MESSAGES_REQUESTED, records)
    finally:
        await producer.stop()
    return {record.contact_id: time.time() for record in records}


def pre_rendered(count: int, run: str) -> list[tuple[str, str, bytes]]:
    """The same messages, rendered once up front: what the raw loop sends."""
    composer = MailComposer(SenderSettings.model_construct(**SenderSettings().model_dump()))
    template = load_template(EXAMPLE_TEMPLATE)
    now = datetime.now(UTC)
    out = []
    for n in range(count):
        letter = composer.render(
            template,
            message_id=f"{run}-raw-{n}",
            workspace_id=WORKSPACE,
            contact_id=f"{run}-{n}",
            profile=profile(n, run),
            variables=VARIABLES,
            now=now,
        )
        out.append(
            (composer.from_address, address(n, run), composer.message_bytes(letter, message_id=f"r{n}", now=now))
        )
    return out


@dataclass
class _Drained:
    figure: Figure
    extra: dict[str, float]


async def _drain(ctx: BenchContext, inbox: InboxProcess, run_id: str, processes: int) -> _Drained:
    """`processes` sender processes in one consumer group drain `sender_messages` requests into the inbox."""
    sizes = ctx.sizes
    # Topics of its own: the group starts at the earliest record, and the timer stage's fires left
    # their message requests (for contacts since deleted) on the shared topics.
    await ctx.stack.fresh_topics(f"sender{processes}")
    warmup = max(2, sizes.sender_messages // 10)
    await seed_contacts(ctx.stack.database_url, sizes.sender_messages + warmup, run_id)
    env = ctx.stack.service_env(**sender_settings(ctx, inbox.port), kafka_heartbeat_interval_ms=str(_HEARTBEAT_MS))
    extra: dict[str, float] = {}
    inbox.accepted.clear()
    with contextlib.ExitStack() as running:
        senders = [
            running.enter_context(ServiceProcess.module("sender", "services.sender", env)) for _ in range(processes)
        ]
        # A warm-up batch first: the consumers join their group and the SMTP connections open; a few
        # heartbeats more and every process has its share of the partitions.
        settings = ctx.stack.settings(CommonSettings)
        await publish(settings, requests(warmup, run_id, first=sizes.sender_messages))
        await inbox.wait_for(warmup, sizes.load_seconds * 2)
        if processes > 1:
            await asyncio.sleep(3 * _HEARTBEAT_MS / 1000)
        inbox.accepted.clear()
        began = time.time()
        cpu = CpuShare().start()
        sent_at = await publish(settings, requests(sizes.sender_messages, run_id))
        await inbox.wait_for(sizes.sender_messages, sizes.load_seconds * 3)
        cores = cpu.stop(top=5)
        if processes == 1:
            extra.update({f"CPU cores while sending: {program}": share for program, share in cores.items()})
            per_message = cpu.per_item_ms(sizes.sender_messages, [SENDER.program, "bench.inbox"])
            extra.update({f"CPU ms per message: {program}": ms for program, ms in per_message.items()})
        for program, ms in cpu.per_item_ms(sizes.sender_messages, [SENDER.program, POSTGRES]).items():
            extra[cpu_key(SENDER, processes, program)] = ms
    accepted = list(inbox.accepted)
    by_address = {address(n, run_id): f"{run_id}-{n}" for n in range(sizes.sender_messages)}
    latencies = [at - sent_at[by_address[to]] for at, to in accepted if to in by_address]
    seconds = (max(at for at, _ in accepted) - began) if accepted else 0.0
    note = "latency: requested on the topic → accepted (backlog drain)"
    if processes > 1:
        note = f"{processes} sender processes in one consumer group, {sizes.smtp_connections} SMTP connections each"
    figure = Figure(
        figure_name(processes), "dripline", len(accepted), seconds, "messages/s", Latency.of_seconds(latencies),
        errors=sizes.sender_messages - len(accepted), peak_rss_mib=max(s.peak_rss_mib for s in senders), note=note,
    )  # fmt: skip
    return _Drained(figure, extra)


async def run(ctx: BenchContext) -> StageResult:
    result = StageResult("sender", "Sender", headline=("dripline", "raw-smtp"))
    sizes, run_id = ctx.sizes, f"s{int(time.time())}"
    ctx.progress.step("render only")
    rendered = render_rate(sizes.micro_seconds)
    result.figures.append(
        Figure(
            "render-only",
            "dripline",
            int(rendered * sizes.micro_seconds),
            sizes.micro_seconds,
            "messages/s",
            note="in-process, one core",
        )
    )
    ctx.progress.done()
    async with InboxProcess().running() as inbox:
        ctx.progress.step("requested → SMTP")
        drained = await _drain(ctx, inbox, run_id, 1)
        result.extra.update(drained.extra)
        result.figures.append(drained.figure)
        if drained.figure.count == 0:
            result.missing = "no requested message reached the inbox (the sender skipped or failed every one)"
        # Scale-out: more sender processes in the consumer group, each with its own SMTP connections.
        for processes in PROCESS_COUNTS[1:] if sizes.comparisons else ():
            ctx.progress.step(f"requested → SMTP, {processes} sender processes")
            drained = await _drain(ctx, inbox, f"{run_id}p{processes}", processes)
            result.extra.update(drained.extra)
            result.figures.append(drained.figure)
        ctx.progress.done()
        ctx.progress.step("raw aiosmtplib")
        messages = pre_rendered(sizes.sender_messages, run_id)
        cpu_before = time.process_time()
        timed = await raw_smtp(inbox.port, messages, connections=sizes.smtp_connections)
        raw_ms = 1000 * (time.process_time() - cpu_before) / max(timed.count, 1)
        result.extra["CPU ms per message: raw SMTP client (pre-rendered)"] = round(raw_ms, 2)
        result.figures.append(
            Figure(
                "raw-smtp",
                "baseline",
                timed.count,
                timed.seconds,
                "messages/s",
                Latency.of_seconds(timed.latencies),
                note="same bytes, pre-rendered, same connections",
            )
        )
        ctx.progress.done()
    result.targets = [
        Target("throughput / raw SMTP", result.headline_ratio, 0.7),
        Target("render only", rendered, 5_000, unit="messages/s"),
    ]
    result.notes.append(
        f"{sizes.sender_messages:,} requests drained from messages.requested over {sizes.smtp_connections} SMTP "
        "connections (rate limit lifted); the inbox runs in its own process."
    )
    return result
