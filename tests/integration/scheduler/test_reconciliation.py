"""The reconciliation pass on PostgreSQL: a message request the sender's ledger never got goes through the
outbox again, byte for byte; one the ledger has is forgotten; nothing is asked again while the outbox still
holds older records (the broker is away); a request is given up after its last re-request, or at once when
its contact was erased.

On a database of this module's own: the pass reads the whole outbox and every remembered request.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from prometheus_client import REGISTRY

from dripline.devstack.postgres import drop_database, ensure_database, with_database
from services.scheduler.adapters.message_requests import remember
from services.scheduler.workers.reconciliation import Reconciliation
from shared.contract import MessageRequested
from shared.contract.topics import MESSAGES_REQUESTED
from shared.db.migrate import upgrade_async
from shared.kafka.producer import OutgoingRecord
from shared.outbox import enqueue
from shared.outbox_frames import unpack
from shared.settings import CommonSettings, SchedulerSettings
from tests.integration.sender.conftest import eventually
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack

WORKSPACE = "reconcile-shop"
AFTER = 0.3  # seconds before an unanswered request is asked again


@pytest.fixture(scope="module")
async def own_db(stack: RealStack) -> AsyncIterator[RealStack]:
    url = with_database(stack.database_url, f"dripline_reconcile_{secrets.token_hex(4)}")
    await ensure_database(url)
    own = RealStack(url, stack.bootstrap, stack.topic_prefix, None)
    await upgrade_async(own.settings(CommonSettings))
    yield own
    await drop_database(url)


@pytest.fixture
async def pool(own_db: RealStack) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(own_db.database_url, min_size=1, max_size=4)
    assert pool is not None
    try:
        await pool.execute("TRUNCATE outbox, message_requests, send_ledger, contacts")
        yield pool
    finally:
        await pool.close()


class Nudges:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def reconciliation(own_db: RealStack, pool: asyncpg.Pool, nudges: Nudges, **overrides: float) -> Reconciliation:
    settings = own_db.settings(SchedulerSettings, reconcile_after_seconds=AFTER, **overrides)
    return Reconciliation(pool, settings, on_records=nudges)


async def contact(pool: asyncpg.Pool) -> str:
    contact_id = f"c-{uuid.uuid4().hex[:10]}"
    await pool.execute("INSERT INTO contacts (workspace_id, contact_id) VALUES ($1, $2)", WORKSPACE, contact_id)
    return contact_id


def request(contact_id: str) -> OutgoingRecord:
    now = datetime.now(UTC)
    message = MessageRequested(
        event_id=f"m-{uuid.uuid4().hex[:12]}",
        workspace_id=WORKSPACE,
        contact_id=contact_id,
        occurred_at=now,
        received_at=now,
        channel="email",
        template_id="welcome-hello",
        flow_id="welcome",
        flow_version=1,
        step_id="hello",
        variables={"coupon": "SPRING"},
    )
    return OutgoingRecord.of(MESSAGES_REQUESTED, message)


def message_id(record: OutgoingRecord) -> str:
    return MessageRequested.model_validate_json(record.value or b"").event_id


async def requested(pool: asyncpg.Pool, records: list[OutgoingRecord]) -> None:
    """What a unit of work does: the records into the outbox and remembered, in one transaction."""
    async with pool.acquire() as connection, connection.transaction():
        await enqueue(connection, records)
        await remember(connection, records)


async def relayed(pool: asyncpg.Pool) -> None:
    """The relay sent everything waiting (to a broker that then lost it)."""
    await pool.execute("DELETE FROM outbox")


async def in_outbox(pool: asyncpg.Pool) -> list[OutgoingRecord]:
    return [record for row in await pool.fetch("SELECT records FROM outbox ORDER BY id") for record in unpack(row[0])]


async def claimed_by_sender(pool: asyncpg.Pool, record: OutgoingRecord) -> None:
    await pool.execute(
        "INSERT INTO send_ledger (message_id, workspace_id, contact_id, channel, category, template_id, state, request)"
        " VALUES ($1, $2, 'c', 'email', 'marketing', 't', 'sent', '{}'::jsonb)",
        message_id(record),
        WORKSPACE,
    )


def re_requested_total() -> float:
    return REGISTRY.get_sample_value("dripline_scheduler_re_requested_total") or 0.0


async def round_with_work(reconcile: Reconciliation) -> int:
    """Run rounds until one finds its requests old enough (with a deadline)."""

    async def probe() -> int | None:
        return await reconcile.run_once() or None

    return await eventually(probe, timeout=30, what="a round that asks again")


async def test_a_request_the_sender_never_got_goes_through_the_outbox_again_and_one_it_got_is_forgotten(
    own_db: RealStack, pool: asyncpg.Pool
) -> None:
    lost, arrived = request(await contact(pool)), request(await contact(pool))
    await requested(pool, [lost, arrived])
    await relayed(pool)
    await claimed_by_sender(pool, arrived)
    nudges, before = Nudges(), re_requested_total()
    reconcile = reconciliation(own_db, pool, nudges)

    assert await round_with_work(reconcile) == 1

    assert await in_outbox(pool) == [lost]  # the same key, bytes and headers as the first time
    rows = {row["message_id"]: row["re_requests"] for row in await pool.fetch("SELECT * FROM message_requests")}
    assert rows == {message_id(lost): 1}
    assert nudges.count == 1  # the relay is woken, not left to its poll
    assert re_requested_total() == before + 1
    assert await reconcile.run_once() == 0, "the clock starts again: the next round does not ask at once"


async def test_nothing_is_asked_again_while_the_outbox_still_holds_older_records(
    own_db: RealStack, pool: asyncpg.Pool
) -> None:
    waiting = request(await contact(pool))
    await requested(pool, [waiting])  # the relay cannot reach the broker: it is still in the outbox
    reconcile = reconciliation(own_db, pool, Nudges())
    loop_time = asyncio.get_running_loop().time

    started = loop_time()
    while loop_time() - started < AFTER * 3:
        assert await reconcile.run_once() == 0
    assert await in_outbox(pool) == [waiting]


async def test_a_request_is_given_up_after_its_last_re_request_and_at_once_when_its_contact_is_gone(
    own_db: RealStack, pool: asyncpg.Pool
) -> None:
    unanswered, erased = request(await contact(pool)), request("c-erased-before-the-sender-got-it")
    await requested(pool, [unanswered, erased])
    await relayed(pool)
    reconcile = reconciliation(own_db, pool, Nudges(), reconcile_max_re_requests=1)

    assert await round_with_work(reconcile) == 1
    assert await in_outbox(pool) == [unanswered]
    await relayed(pool)

    async def gone() -> bool:
        await reconcile.run_once()
        return bool(await pool.fetchval("SELECT count(*) FROM message_requests") == 0)

    await eventually(gone, timeout=30, what="the request to be given up")
    assert await in_outbox(pool) == []
