"""Sign-ups arriving together are written together on the real PostgreSQL, and fail apart."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from services.ingest.adapters.group_commit import GroupCommit, RunAgain
from shared.contract.topics import SIGNUPS
from tests.integration.test_ingest_events import event_of
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def _transaction_ids(connection: asyncpg.Connection, items: list[int]) -> list[int]:
    txid = int(await connection.fetchval("SELECT txid_current()"))
    return [txid for _ in items]


async def test_items_arriving_together_are_written_by_one_call_on_one_connection(pool: asyncpg.Pool) -> None:
    handled: list[list[int]] = []

    async def handler(connection: asyncpg.Connection, items: list[int]) -> list[int]:
        handled.append(items)
        return await _transaction_ids(connection, items)

    group: GroupCommit[int, int] = GroupCommit(pool, handler)
    ids = await asyncio.gather(*(group.run(n) for n in range(5)))
    assert len(set(ids)) == 1
    assert handled == [[0, 1, 2, 3, 4]]


async def test_items_wait_while_groups_are_being_written_then_go_together(pool: asyncpg.Pool) -> None:
    handled: list[list[str]] = []
    release = asyncio.Event()

    async def handler(connection: asyncpg.Connection, items: list[str]) -> list[str]:
        handled.append(items)
        await release.wait()
        return items

    group: GroupCommit[str, str] = GroupCommit(pool, handler, in_flight=1)
    first = asyncio.create_task(group.run("first"))
    await asyncio.sleep(0.01)
    assert handled == [["first"]]  # a lone item starts at once
    later = [asyncio.create_task(group.run(name)) for name in ("b", "c", "d")]
    await asyncio.sleep(0.01)
    assert handled == [["first"]]
    release.set()
    assert await asyncio.gather(first, *later) == ["first", "b", "c", "d"]
    assert handled == [["first"], ["b", "c", "d"]]


async def test_a_failing_item_fails_alone_and_the_others_are_committed(pool: asyncpg.Pool) -> None:
    contacts = [uuid.uuid4().hex for _ in range(3)]

    async def save(connection: asyncpg.Connection, items: list[str]) -> list[str]:
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO contacts (workspace_id, contact_id) SELECT 'shop-one', * FROM unnest($1::text[])", items
            )
            if "broken" in items:
                await connection.execute("SELECT 1/0")
        return items

    group: GroupCommit[str, str] = GroupCommit(pool, save)
    outcomes = await asyncio.gather(
        group.run(contacts[0]),
        group.run("broken"),
        group.run(contacts[1]),
        group.run(contacts[2]),
        return_exceptions=True,
    )
    assert [outcomes[0], outcomes[2], outcomes[3]] == contacts
    assert isinstance(outcomes[1], asyncpg.DivisionByZeroError)
    saved = await pool.fetch(
        "SELECT contact_id FROM contacts WHERE contact_id = ANY($1::text[])", [*contacts, "broken"]
    )
    assert sorted(row["contact_id"] for row in saved) == sorted(contacts)


async def test_an_item_that_fails_in_company_is_run_again_on_its_own(pool: asyncpg.Pool) -> None:
    attempts: list[list[str]] = []

    async def flaky(connection: asyncpg.Connection, items: list[str]) -> list[int]:
        attempts.append(items)
        if len(attempts) == 1:
            raise asyncpg.DeadlockDetectedError("deadlock detected")
        return await _transaction_ids(connection, items)

    group: GroupCommit[str, int] = GroupCommit(pool, flaky)
    partner, retried = await asyncio.gather(group.run("partner"), group.run("flaky"))
    assert attempts == [["partner", "flaky"], ["partner"], ["flaky"]]
    assert partner != retried  # each ran again in a transaction of its own


async def test_work_that_met_a_concurrent_writer_runs_again_in_a_fresh_transaction(pool: asyncpg.Pool) -> None:
    attempts: list[int] = []

    async def racing(connection: asyncpg.Connection, items: list[str]) -> list[int]:
        [txid] = await _transaction_ids(connection, items[:1])
        attempts.append(txid)
        if len(attempts) < 3:
            raise RunAgain("claimed by another writer")
        return [txid]

    group: GroupCommit[str, int] = GroupCommit(pool, racing)
    assert await group.run_alone(["kari"]) == [attempts[-1]]
    assert len(set(attempts)) == 3


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
