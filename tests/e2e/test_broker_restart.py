"""The broker dies with work on it and comes back empty (the local broker keeps records in memory only):
every sign-up the scheduler had taken ends with exactly one welcome in the inbox, sign-ups after the restart
are delivered, and every service is ready again, without restarting any of them.

The sender is held back from fetching before the sign-ups arrive, as a sender behind on its backlog would
be, so their message requests are on the broker, and only there, when it is killed: the scheduler's
reconciliation asks for them again. (A sign-up acknowledged but not yet read by the scheduler when the
broker vanished is lost with it: docs/operations.md says what each broker guarantees.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings
from tests.integration.sender.conftest import eventually
from tests.support.stack import RealStack
from tests.support.system import System, running_system
from tests.support.tuned import Tuned, all_ready, own_stack, welcome_on_signup

pytestmark = pytest.mark.stack

BEFORE, AFTER = 20, 5
RECONCILE_AFTER_SECONDS = 3.0


@pytest.fixture
async def world(stack: RealStack) -> AsyncIterator[tuple[Tuned, System]]:
    async with (
        own_stack(stack, reconcile_after_seconds=RECONCILE_AFTER_SECONDS) as own,
        running_system(own, "restart") as system,
    ):
        await welcome_on_signup(system)
        yield own, system


def signup(name: str) -> tuple[str, dict[str, Any]]:
    email = f"{name.lower()}.{uuid.uuid4().hex[:8]}@example.com"
    body = {"type": "signup", "contact": {"email": email, "first_name": name}, "consent": {"marketing": True}}
    return email, body


async def accepted(system: System, body: dict[str, Any], *, timeout: float) -> None:
    """Post until ingest acknowledges (202); it answers 503 while its producer waits for the broker."""

    async def posted() -> bool:
        return (await system.ingest.post("/v1/events", json=body)).status_code == 202

    await eventually(posted, timeout=timeout, what="ingest to take a sign-up")


async def hold_back_fetching(system: System) -> None:
    """The sender's consumer stops fetching its partitions (what it has joined the group for)."""
    loop = system.sender.runtime.consumer
    assert loop is not None

    async def assigned() -> bool:
        return bool(loop.consumer.assignment())

    await eventually(assigned, timeout=30, what="the sender's consumer to hold partitions")
    loop.consumer.pause(*loop.consumer.assignment())


async def only_on_the_broker(db: asyncpg.Pool, workspace_id: str, count: int) -> None:
    """All `count` requests are written, relayed (the outbox is empty) and not yet in the sender's ledger."""

    async def relayed() -> bool:
        requested = await db.fetchval("SELECT count(*) FROM message_requests WHERE workspace_id = $1", workspace_id)
        waiting = await db.fetchval("SELECT count(*) FROM outbox")
        return bool(requested == count and waiting == 0)

    await eventually(relayed, timeout=30, what=f"{count} requests on the broker")
    assert await db.fetchval("SELECT count(*) FROM send_ledger WHERE workspace_id = $1", workspace_id) == 0


async def welcomes(system: System, names: dict[str, str], *, timeout: float) -> Counter[str]:
    """Welcome mails in the inbox (read over its HTTP API) per address, once every address has one."""
    async with httpx.AsyncClient(base_url=system.sender.inbox_url) as inbox:

        async def counted() -> Counter[str] | None:
            found: Counter[str] = Counter()
            for mail in (await inbox.get("/api/messages")).json():
                for address in set(mail["rcpt_tos"]) & set(names):
                    assert mail["subject"] == f"Welcome, {names[address]}", mail["subject"]
                    assert f"Hi {names[address]}," in mail["text"]
                    found[address] += 1
            return found if set(found) == set(names) else None

        return await eventually(counted, timeout=timeout, what=f"a welcome to each of {len(names)} addresses")


async def test_every_signup_the_scheduler_took_gets_one_welcome_after_the_broker_restarts_empty(
    world: tuple[Tuned, System],
) -> None:
    own, system = world
    broker = own.broker
    assert broker is not None and broker.pid is not None
    db = await asyncpg.create_pool(own.database_url, min_size=1, max_size=2)
    assert db is not None
    try:
        await hold_back_fetching(system)
        before = [signup(f"Before{n}") for n in range(BEFORE)]
        answers = await asyncio.gather(*(system.ingest.post("/v1/events", json=body) for _, body in before))
        assert [answer.status_code for answer in answers] == [202] * BEFORE
        await only_on_the_broker(db, system.workspace_id, BEFORE)

        os.kill(broker.pid, signal.SIGKILL)

        async def dead() -> bool:
            return broker.exited() is not None

        await eventually(dead, timeout=30, what="the broker to die")
        broker.start()  # same port, nothing on it: no topics, groups or offsets
        await ensure_topics(system.stack.settings(CommonSettings))

        after = [signup(f"After{n}") for n in range(AFTER)]
        for _, body in after:
            await accepted(system, body, timeout=60)

        names = {email: str(body["contact"]["first_name"]) for email, body in before + after}
        arrived = await welcomes(system, names, timeout=90)
        await asyncio.sleep(2 * RECONCILE_AFTER_SECONDS)  # past the next reconciliation rounds: no second copy
        arrived = await welcomes(system, names, timeout=5)
        assert {address: n for address, n in arrived.items() if n != 1} == {}

        scheduler = system.scheduler_app.state.scheduler
        assert scheduler.reconciliation.re_requested >= BEFORE, "the lost requests were asked for again"
        urls = [str(system.ingest.base_url), str(system.scheduler.base_url), system.sender.url, system.tracker_url]
        await all_ready(url.rstrip("/") for url in urls)
        metrics = (await system.scheduler.get("/metrics")).text
        assert "dripline_scheduler_re_requested_total" in metrics

        async def all_forgotten() -> bool:
            left = await db.fetchval("SELECT count(*) FROM message_requests")
            return bool(left == 0)

        await eventually(all_forgotten, timeout=30, what="every request to be in the sender's ledger")
    finally:
        await db.close()
