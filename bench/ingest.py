"""Ingest: single events at 64 connections, and batches of 100 and 1,000, against their floors."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import TypeAdapter

from bench.baselines import RawRecord, Timed, raw_produce
from bench.harness import Figure, Latency, Role, StageResult, Target
from bench.loadgen import LoadSpec
from bench.processes import LoadResult, ServiceProcess, run_load
from bench.sizes import BenchContext
from bench.stack import WORKSPACE
from services.ingest.domain.records import event_record
from services.ingest.domain.requests import EventIn
from shared.kafka.producer import OutgoingRecord

CONTACTS = 2_000
VARIANTS = 2_000
_EVENT = TypeAdapter(EventIn)


def track_event(n: int) -> dict[str, Any]:
    """A product view by one of a few thousand returning customers: the most common event."""
    return {
        "type": "track",
        "contact": {"external_id": f"cust-{n % CONTACTS}"},
        "name": "product_viewed",
        "properties": {"product_id": f"sku-{n % 500}", "price": "129.00", "currency": "NOK"},
    }


def topic_records(events: list[dict[str, Any]], prefix: str) -> list[RawRecord]:
    """The exact records ingest puts on the broker for these events."""
    now = datetime.now(UTC)
    records = []
    for n, body in enumerate(events):
        topic, record = event_record(
            _EVENT.validate_python(body),
            workspace_id=WORKSPACE,
            contact_id=uuid.UUID(int=n % CONTACTS).hex,
            event_id=uuid.uuid4().hex,
            received_at=now,
        )
        out = OutgoingRecord.of(topic, record)
        assert out.value is not None
        records.append(RawRecord(topic.full_name(prefix), out.key.encode(), out.value, out.headers))
    return records


def ingest_process(ctx: BenchContext) -> ServiceProcess:
    return ServiceProcess.module("ingest", "services.ingest", ctx.stack.service_env(ingest_port="{port}"))


def baseline_process(name: str) -> ServiceProcess:
    return ServiceProcess.module(name, "bench.serve", {}, name, "{port}", health_path=None)


async def _drive(
    ctx: BenchContext, server: ServiceProcess, path: str, bodies: list[bytes], total: int, connections: int
) -> LoadResult:
    headers = {"Authorization": f"Bearer {ctx.stack.api_key}"}
    spec = LoadSpec.build(server.port, method="POST", paths=[path], bodies=bodies, headers=headers)
    spec = replace(spec, connections=connections, duration=ctx.sizes.load_seconds)
    await run_load(replace(spec, total=min(ctx.sizes.warmup_requests, total)))
    return await run_load(replace(spec, total=total))


def _timed_figure(name: str, timed: Timed, unit: str, note: str = "") -> Figure:
    return Figure(name, "baseline", timed.count, timed.seconds, unit, Latency.of_seconds(timed.latencies), note=note)


async def single(ctx: BenchContext) -> StageResult:
    result = StageResult("ingest-single", "Ingest, single events", headline=("dripline", "fastapi-validate"))
    sizes = ctx.sizes
    events = [track_event(n) for n in range(VARIANTS)]
    bodies = [orjson.dumps(event) for event in events]
    servers = [
        ("dripline", ingest_process(ctx)),
        *((name, baseline_process(name)) for name in ("fastapi-validate", "bare-ingest")),
    ]
    for name, server in servers:
        ctx.progress.step(f"POST /v1/events ({name})")
        with server:
            load = await _drive(ctx, server, "/v1/events", bodies, sizes.single_requests, sizes.connections)
        role: Role = "dripline" if name == "dripline" else "baseline"
        result.figures.append(load.figure(name, role, "events/s", peak_rss_mib=server.peak_rss_mib))
        ctx.progress.done()
    ctx.progress.step("raw aiokafka producer")
    records = topic_records(events, ctx.stack.topic_prefix) * (sizes.single_requests // VARIANTS + 1)
    timed = await raw_produce(
        ctx.stack.bootstrap, records[: sizes.single_requests], group=1, concurrency=sizes.connections
    )
    result.figures.append(_timed_figure("raw-producer", timed, "events/s", "one record per send, acks=all"))
    ctx.progress.done()
    ours = result.figure("dripline")
    p99 = ours.latency.p99 if ours and ours.latency else None
    result.targets = [
        Target("throughput / FastAPI-validate", result.headline_ratio, 1.5),
        Target(f"p99 at {sizes.connections} connections", p99, 10.0, higher_is_better=False, unit="ms"),
    ]
    result.notes.append(
        f"{sizes.connections} keep-alive connections, closed loop, {sizes.single_requests:,} requests each; "
        f"{CONTACTS:,} returning contacts (external ids); load generator in its own process."
    )
    return result


async def batch(ctx: BenchContext) -> StageResult:
    result = StageResult("ingest-batch", "Ingest, batches", headline=("dripline-1000", "raw-producer-1000"))
    sizes = ctx.sizes
    events = [track_event(n) for n in range(VARIANTS)]
    records = topic_records(events, ctx.stack.topic_prefix)
    for size in (100, 1000):
        requests = max(2, sizes.batch_events // size)
        bodies = [
            orjson.dumps({"events": [events[(i * size + j) % VARIANTS] for j in range(size)]})
            for i in range(max(1, VARIANTS // size))
        ]
        ctx.progress.step(f"POST /v1/events/batch of {size}")
        with ingest_process(ctx) as server:
            load = await _drive(ctx, server, "/v1/events/batch", bodies, requests, sizes.batch_connections)
        result.figures.append(
            load.figure(f"dripline-{size}", "dripline", "events/s", per_request=size, peak_rss_mib=server.peak_rss_mib)
        )
        ctx.progress.done()
        ctx.progress.step(f"raw aiokafka producer, groups of {size}")
        repeated = (records * (requests * size // len(records) + 1))[: requests * size]
        timed = await raw_produce(ctx.stack.bootstrap, repeated, group=size, concurrency=sizes.batch_connections)
        latencies = Latency.of_seconds(timed.latencies)
        result.figures.append(
            Figure(f"raw-producer-{size}", "baseline", timed.count, timed.seconds, "events/s", latencies)
        )
        ctx.progress.done()
    ours = result.figure("dripline-1000")
    result.targets = [
        Target("events/s, batches of 1,000", ours.rate if ours else None, 50_000, unit="events/s"),
        Target("throughput / raw producer (1,000)", result.headline_ratio, 1.0),
        Target("throughput / raw producer (100)", result.ratio("dripline-100", "raw-producer-100"), 1.0),
    ]
    result.notes.append(
        f"{sizes.batch_connections} connections; raw producer: same records, same groups, same concurrency, acks=all."
    )
    return result
