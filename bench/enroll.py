"""Drives the real scheduler: a flow that waits a day then sends, and sign-ups on the topic that enter it."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
from pydantic import TypeAdapter

from bench.baselines import RawRecord, raw_produce
from bench.processes import ServiceProcess
from bench.sizes import BenchContext
from bench.stack import WORKSPACE
from services.ingest.domain.records import event_record
from services.ingest.domain.requests import EventIn
from shared.kafka.producer import OutgoingRecord

FLOW_ID = "bench-wait"
FLOW = """\
id: bench-wait
name: Bench wait then send
category: transactional
triggers:
  - type: event
    event: signup
entry:
  frequency: once
steps:
  - id: later
    type: wait
    duration: 1d
  - id: hello
    type: send
    template: bench-hello
    category: transactional
"""
_EVENT = TypeAdapter(EventIn)
# Step timers carry no flow id (the enrollment knows it); the bench's filler timers always do.
WAITING = "SELECT count(*) FROM timers WHERE workspace_id = $1 AND kind = 'step' AND flow_id IS NULL"


def scheduler_process(ctx: BenchContext) -> ServiceProcess:
    return ServiceProcess.module("scheduler", "services.scheduler", ctx.stack.service_env(scheduler_port="{port}"))


async def publish_flow(scheduler: ServiceProcess, api_key: str, source: str = FLOW) -> None:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as client:
        answer = await client.post(f"http://127.0.0.1:{scheduler.port}/v1/flows", json={"source": source})
        answer.raise_for_status()


def signup_records(count: int, run: str, prefix: str) -> list[RawRecord]:
    """The records ingest would put on shop.signups for `count` new people."""
    now = datetime.now(UTC)
    records = []
    for n in range(count):
        body = {"type": "signup", "contact": {"contact_id": f"{run}-{n}"}, "source": "bench"}
        topic, record = event_record(
            _EVENT.validate_python(body),
            workspace_id=WORKSPACE,
            contact_id=f"{run}-{n}",
            event_id=uuid.uuid4().hex,
            received_at=now,
        )
        out = OutgoingRecord.of(topic, record)
        assert out.value is not None
        records.append(RawRecord(topic.full_name(prefix), out.key.encode(), out.value, out.headers))
    return records


async def wait_for_count(
    connection: asyncpg.Connection,
    query: str,
    args: tuple[object, ...],
    target: int,
    timeout: float,
    *,
    falling: bool = False,
    every: float = 0.02,
) -> list[tuple[float, int]]:
    """Poll `query` until it reaches `target` (or falls to it); returns (time, count) samples."""
    samples: list[tuple[float, int]] = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = int(await connection.fetchval(query, *args))
        samples.append((time.time(), value))
        if (value <= target) if falling else (value >= target):
            break
        await asyncio.sleep(every)
    return samples


async def enroll(ctx: BenchContext, count: int, run: str, connection: asyncpg.Connection) -> tuple[float, int]:
    """Sign `count` people up through the topic; returns (seconds until every timer is written, timers written)."""
    before = int(await connection.fetchval(WAITING, WORKSPACE))
    records = signup_records(count, run, ctx.stack.topic_prefix)
    began = time.time()
    await raw_produce(ctx.stack.bootstrap, records, group=500, concurrency=4)
    samples = await wait_for_count(
        connection, WAITING, (WORKSPACE,), before + count, ctx.sizes.load_seconds * 4, every=0.05
    )
    return samples[-1][0] - began, samples[-1][1] - before
