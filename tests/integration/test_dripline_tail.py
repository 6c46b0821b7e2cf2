"""`dripline tail` on the real broker: new records by default, the history with --from-beginning, and it ends
by itself with --max, --timeout or --no-follow."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from shared.contract.topics import SIGNUPS
from shared.kafka.admin import ensure_topics
from shared.kafka.client import client_options
from shared.settings import CommonSettings
from tests.support.stack import RealStack

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
async def tailed(stack: RealStack) -> RealStack:
    """The stack under a topic prefix of the test's own: its marks never reach the topics other tests read,
    and the history it tails holds only its own records."""
    own = dataclasses.replace(stack, topic_prefix=f"{stack.topic_prefix}tail-{uuid.uuid4().hex[:6]}.")
    await ensure_topics(own.settings(CommonSettings))
    return own


@pytest.fixture
async def producer(tailed: RealStack) -> AsyncIterator[AIOKafkaProducer]:
    started = AIOKafkaProducer(**client_options(tailed.settings(CommonSettings)))
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def _send(producer: AIOKafkaProducer, topic: str, *marks: str) -> None:
    for mark in marks:
        await producer.send_and_wait(topic, orjson.dumps({"mark": mark}), key=mark.encode())


async def _tail(stack: RealStack, *arguments: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap, "DRIPLINE_TOPIC_PREFIX": stack.topic_prefix}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dripline.cli", "tail", SIGNUPS.name, *arguments,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _ready(process: asyncio.subprocess.Process) -> None:
    """Wait for the tail to say where it reads from (its consumer is positioned by then)."""
    assert process.stderr is not None
    line = await asyncio.wait_for(process.stderr.readline(), 90)  # the CLI's imports are slow on a busy machine
    assert line.startswith(b"reading "), line


async def _marks(process: asyncio.subprocess.Process, within: float = 90) -> list[str]:
    out, err = await asyncio.wait_for(process.communicate(), within)
    assert process.returncode == 0, err.decode()
    return [orjson.loads(line)["value"]["mark"] for line in out.splitlines()]


async def test_tail_prints_only_new_records_by_default_and_stops_at_max(
    tailed: RealStack, producer: AIOKafkaProducer
) -> None:
    topic = SIGNUPS.full_name(tailed.topic_prefix)
    await _send(producer, topic, "old-1", "old-2")
    tail = await _tail(tailed, "--max", "2", "--timeout", "20")
    await _ready(tail)
    await _send(producer, topic, "new-1", "new-2", "new-3")
    printed = await _marks(tail)
    assert sorted(printed) in (["new-1", "new-2"], ["new-1", "new-3"], ["new-2", "new-3"])  # partitions interleave


async def test_tail_from_beginning_prints_the_history_and_ends_when_caught_up(
    tailed: RealStack, producer: AIOKafkaProducer
) -> None:
    topic = SIGNUPS.full_name(tailed.topic_prefix)
    await _send(producer, topic, "history-a", "history-b")
    tail = await _tail(tailed, "--from-beginning", "--no-follow")
    printed = await _marks(tail)
    assert {"history-a", "history-b"} <= set(printed)


async def test_tail_timeout_ends_a_quiet_tail(tailed: RealStack, producer: AIOKafkaProducer) -> None:
    await _send(producer, SIGNUPS.full_name(tailed.topic_prefix), "before-start")
    started = time.monotonic()
    tail = await _tail(tailed, "--timeout", "1")
    assert await _marks(tail) == []
    assert time.monotonic() - started < 90
