"""The engagement buffer while the broker is away: nothing is lost up to its limit, order is kept."""

from __future__ import annotations

import time

import pytest

from services.tracker.adapters.buffer import EngagementBuffer
from services.tracker.domain.machine import HUMAN
from services.tracker.usecases.hits import engagement
from shared.contract.topics import ENGAGEMENT
from shared.kafka.producer import OutgoingRecord, Producer
from shared.settings import TrackerSettings
from shared.tokens import TokenKind
from shared.workers import RestartPolicy, Supervisor
from tests.integration.tracker.conftest import Person
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


def hits(person: Person, count: int) -> list[OutgoingRecord]:
    now = time.time()
    claims = person.claims(TokenKind.OPEN)
    return [
        engagement(claims, "opened", HUMAN, event_id=f"o-test-{person.message_id}-{n}", now=now) for n in range(count)
    ]


async def stopped(supervisor: Supervisor, buffer: EngagementBuffer, *, grace_s: float) -> None:
    """What the tracker does on SIGTERM: the flush loop stops, then what waits is sent within the grace."""
    await supervisor.stop("engagement-flush", grace=0.0)
    await buffer.stop(grace_s=grace_s)


async def test_hits_wait_while_the_broker_is_away_and_arrive_in_order_when_it_is_back(
    stack: RealStack, person: Person
) -> None:
    buffer = EngagementBuffer(interval_s=60, batch=1000, limit=5)
    away = Producer(stack.settings(TrackerSettings), timeout_seconds=1)  # never connected: every send fails
    buffer.attach(away)
    supervisor = Supervisor("tracker", RestartPolicy())
    supervisor.start("engagement-flush", buffer.run)  # as the tracker runs it
    for record in hits(person, 7):
        buffer.add(record)

    assert len(buffer) == 5  # the two past the limit are dropped, not queued without bound
    assert await buffer.flush() is False and len(buffer) == 5
    await stopped(supervisor, buffer, grace_s=0.1)  # gives up within its grace rather than hanging the shutdown
    assert len(buffer) == 0

    await away.stop()

    back = Producer(stack.settings(TrackerSettings))
    await back.start()
    try:
        buffer = EngagementBuffer(interval_s=60, batch=1000, limit=100)
        for record in hits(person, 3):
            buffer.add(record)
        assert await buffer.flush() is False  # no producer yet: kept, in order
        buffer.attach(back)
        supervisor = Supervisor("tracker", RestartPolicy())
        supervisor.start("engagement-flush", buffer.run)
        await stopped(supervisor, buffer, grace_s=5)
    finally:
        await back.stop()
    records = await read_topic(stack, ENGAGEMENT, count=3, where=lambda r: r["message_id"] == person.message_id)
    assert [r["event_id"] for r in records] == [f"o-test-{person.message_id}-{n}" for n in range(3)]
