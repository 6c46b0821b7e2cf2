"""Sign-ups arriving together share one transaction on the real PostgreSQL, and fail apart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from services.ingest.adapters.group_commit import GroupCommit, Transaction
from services.ingest.adapters.profiles import merge_into_profile
from shared.contract.topics import SIGNUPS
from tests.integration.test_ingest_events import event_of
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


@pytest.fixture
async def pool(stack: RealStack) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=4)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()


async def _transaction_id(db: Transaction) -> int:
    connection = await db.connection()
    return int(await connection.fetchval("SELECT txid_current()"))


async def test_work_arriving_together_shares_one_transaction(pool: asyncpg.Pool) -> None:
    group = GroupCommit(pool, window_seconds=0.05)
    committed: list[int] = []

    async def work(n: int, db: Transaction) -> int:
        db.after_commit(lambda: committed.append(n))
        return await _transaction_id(db)

    ids = await asyncio.gather(*(group.run(lambda db, n=n: work(n, db)) for n in range(5)))
    assert len(set(ids)) == 1
    assert sorted(committed) == [0, 1, 2, 3, 4]


async def test_a_failing_part_fails_alone_and_the_others_are_committed(pool: asyncpg.Pool) -> None:
    group = GroupCommit(pool, window_seconds=0.05)
    contacts = [uuid.uuid4().hex for _ in range(3)]

    async def save(contact_id: str, db: Transaction) -> str:
        await merge_into_profile(await db.connection(), "shop-one", contact_id, {"first_name": "Kari"})
        return contact_id

    async def broken(db: Transaction) -> None:
        await (await db.connection()).execute("SELECT 1/0")

    outcomes = await asyncio.gather(
        group.run(lambda db: save(contacts[0], db)),
        group.run(broken),
        group.run(lambda db: save(contacts[1], db)),
        group.run(lambda db: save(contacts[2], db)),
        return_exceptions=True,
    )
    assert [outcomes[0], outcomes[2], outcomes[3]] == contacts
    assert isinstance(outcomes[1], asyncpg.DivisionByZeroError)
    saved = await pool.fetch("SELECT contact_id, profile FROM contacts WHERE contact_id = ANY($1::text[])", contacts)
    assert sorted(row["contact_id"] for row in saved) == sorted(contacts)


async def test_a_part_that_fails_in_company_is_run_again_on_its_own(pool: asyncpg.Pool) -> None:
    group = GroupCommit(pool, window_seconds=0.05)
    attempts: list[int] = []
    committed: list[str] = []

    async def partner(db: Transaction) -> int:
        db.after_commit(lambda: committed.append("partner"))
        return await _transaction_id(db)

    async def flaky(db: Transaction) -> int:
        attempts.append(await _transaction_id(db))
        if len(attempts) == 1:
            raise asyncpg.DeadlockDetectedError("deadlock detected")
        return attempts[-1]

    partner_id, retried = await asyncio.gather(group.run(partner), group.run(flaky))
    assert attempts[0] not in (retried, partner_id)  # the group's transaction was not kept
    assert retried == attempts[1] != partner_id  # each ran again in a transaction of its own
    assert committed == ["partner"]  # after-commit work of the rolled-back attempt never ran


async def test_concurrent_new_sign_ups_are_each_answered_with_their_own_contact(
    shop: httpx.AsyncClient, stack: RealStack
) -> None:
    run = uuid.uuid4().hex[:10]
    bodies = [
        event_of("signup", event_id=f"{run}-{n}", contact={"email": f"{run}-{n}@example.com", "first_name": "Kari"})
        for n in range(20)
    ]
    answers = await asyncio.gather(*(shop.post("/v1/events", json=body) for body in bodies))
    assert [answer.status_code for answer in answers] == [202] * 20
    assert [answer.json()["event_id"] for answer in answers] == [f"{run}-{n}" for n in range(20)]

    landed = await read_topic(stack, SIGNUPS, count=20, where=lambda r: r["event_id"].startswith(run))
    assert len({record["contact_id"] for record in landed}) == 20

    again = await shop.post("/v1/events", json={**bodies[3], "event_id": f"{run}-again"})
    [repeat] = await read_topic(stack, SIGNUPS, count=1, where=lambda r: r["event_id"] == f"{run}-again")
    first = next(record for record in landed if record["event_id"] == f"{run}-3")
    assert again.status_code == 202 and repeat["contact_id"] == first["contact_id"]
