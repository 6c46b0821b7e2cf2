"""The backstop behind ingest's 503: a wait the broker never answers fails once its allowance is spent."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaTimeoutError

from shared.kafka.ack_deadlines import AckDeadlines


async def test_a_wait_never_answered_fails_after_its_allowance() -> None:
    deadlines = AckDeadlines(0.05)
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[object] = loop.create_future()
    forgotten: asyncio.Future[object] = loop.create_future()
    deadlines.watch([answered])
    deadlines.watch([forgotten])
    answered.set_result("acknowledged")

    async with asyncio.timeout(2):
        with pytest.raises(KafkaTimeoutError):
            await forgotten
    assert answered.result() == "acknowledged"
    deadlines.stop()


async def test_waits_answered_in_time_are_left_alone() -> None:
    deadlines = AckDeadlines(0.05)
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[object]] = [loop.create_future() for _ in range(3)]
    deadlines.watch(futures)
    for future in futures:
        future.set_result(None)
    await asyncio.sleep(0.1)  # past the deadline: nothing left to fail

    assert all(future.result() is None for future in futures)
    deadlines.stop()
