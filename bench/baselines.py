"""The physical limits each stage is compared with: the least code that could do the same job.

ASGI apps are served by `bench.serve` in their own process, the same way as the services.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import aiosmtplib
import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from fastapi import Body, FastAPI

from services.ingest.domain.requests import EventIn
from services.tracker.domain.pixel import PIXEL_CONTENT_TYPE, TRANSPARENT_GIF

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
CLICK_TARGET = "https://shop.example/p/1"


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        body += chunk
        if not message.get("more_body"):
            return body


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def bare_ingest(scope: Scope, receive: Receive, send: Send) -> None:
    """Parses the same JSON and answers 202: the floor of any Python HTTP intake."""
    if scope["type"] != "http":
        return
    event = orjson.loads(await _read_body(receive))
    answer = orjson.dumps({"event_id": event.get("event_id") or uuid.uuid4().hex})
    await _answer(send, 202, answer, [(b"content-type", b"application/json")])


def fastapi_validate() -> FastAPI:
    """FastAPI validating the same pydantic body, and nothing else."""
    app = FastAPI()

    @app.post("/v1/events", status_code=202)
    async def post_event(event: Annotated[EventIn, Body()]) -> dict[str, str]:
        return {"event_id": event.event_id or uuid.uuid4().hex}

    return app


_NO_CACHE = [(b"cache-control", b"no-store, no-cache, must-revalidate, private, max-age=0")]


async def bare_tracker(scope: Scope, receive: Receive, send: Send) -> None:
    """The same GIF or the same redirect, with no token, no judging, no buffering."""
    if scope["type"] != "http":
        return
    if scope["path"].startswith("/c/"):
        await _answer(send, 302, b"", [(b"location", CLICK_TARGET.encode()), (b"cache-control", b"no-store")])
    else:
        await _answer(send, 200, TRANSPARENT_GIF, [(b"content-type", PIXEL_CONTENT_TYPE.encode()), *_NO_CACHE])


@dataclass(frozen=True)
class RawRecord:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class Timed:
    count: int
    seconds: float
    latencies: list[float]


async def raw_produce(
    bootstrap: str, records: Sequence[RawRecord], *, group: int, concurrency: int, linger_ms: int = 5
) -> Timed:
    """`concurrency` senders each write `group` records and wait for every ack, like one request would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=linger_ms, max_batch_size=256 * 1024)
    await producer.start()
    groups = iter(range(0, len(records), group))
    latencies: list[float] = []

    async def sender() -> None:
        for start in groups:
            began = time.perf_counter()
            futures = [
                await producer.send(r.topic, r.value, key=r.key, headers=r.headers)
                for r in records[start : start + group]
            ]
            await asyncio.gather(*futures)
            latencies.append(time.perf_counter() - began)

    try:
        began = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return Timed(len(records), time.perf_counter() - began, latencies)
    finally:
        await producer.stop()


_CLAIM = """
DELETE FROM timers WHERE id IN (
    SELECT id FROM timers WHERE due_at <= now() ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED
) RETURNING extract(epoch FROM due_at)::float8 AS due
"""


async def raw_claim_loop(database_url: str, expected: int, *, batch: int = 500, timeout: float = 120.0) -> Timed:
    """One worker claiming and deleting due timers in batches; lateness is fired minus due."""
    connection = await asyncpg.connect(database_url)
    lateness: list[float] = []
    began = time.perf_counter()
    deadline = began + timeout
    try:
        while len(lateness) < expected and time.perf_counter() < deadline:
            async with connection.transaction():
                rows = await connection.fetch(_CLAIM, batch)
            fired = time.time()
            lateness.extend(fired - row["due"] for row in rows)
            if not rows:
                await asyncio.sleep(0.005)
        return Timed(len(lateness), time.perf_counter() - began, lateness)
    finally:
        await connection.close()


async def raw_smtp(
    port: int, messages: Sequence[tuple[str, str, bytes]], *, connections: int, timeout: float = 30.0
) -> Timed:
    """Pre-rendered messages over `connections` reused SMTP connections: the delivery floor."""
    queue = iter(messages)
    latencies: list[float] = []

    async def connection() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=timeout, start_tls=False)
        await client.connect()
        try:
            for sender, recipient, raw in queue:
                began = time.perf_counter()
                await client.sendmail(sender, [recipient], raw)
                latencies.append(time.perf_counter() - began)
        finally:
            await client.quit()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return Timed(len(latencies), time.perf_counter() - began, latencies)


APPS: dict[str, Callable[[], Any]] = {
    "bare-ingest": lambda: bare_ingest,
    "fastapi-validate": fastapi_validate,
    "bare-tracker": lambda: bare_tracker,
}


_ENROLL = """
INSERT INTO enrollments (id, workspace_id, contact_id, flow_id, flow_version, number, state, active, entered_at)
VALUES ($1, $2, $3, $4, 1, 1, $5::jsonb, true, now())
"""
_TIMER = """
INSERT INTO timers (id, kind, workspace_id, contact_id, enrollment_id, flow_id, due_at)
VALUES ($1, 'step', $2, $3, $4, $5, now() + interval '1 day')
"""


async def raw_intake(
    bootstrap: str, topic: str, database_url: str, *, expected: int, flow_id: str, state: str, timeout: float
) -> Timed:
    """Consume sign-ups and write one enrollment and one timer per record, a batch per transaction."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-intake-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    connection = await asyncpg.connect(database_url)
    await consumer.start()
    done, began = 0, time.perf_counter()
    try:
        while done < expected and time.perf_counter() - began < timeout:
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            records = [orjson.loads(r.value) for batch in batches.values() for r in batch if r.value]
            if not records:
                continue
            rows = [(uuid.uuid4().hex, r["workspace_id"], r["contact_id"]) for r in records]
            async with connection.transaction():
                await connection.executemany(_ENROLL, [(i, w, c, flow_id, state) for i, w, c in rows])
                await connection.executemany(_TIMER, [("raw-" + i, w, c, i, flow_id) for i, w, c in rows])
            await consumer.commit()
            done += len(records)
        return Timed(done, time.perf_counter() - began, [])
    finally:
        await consumer.stop()
        await connection.close()
