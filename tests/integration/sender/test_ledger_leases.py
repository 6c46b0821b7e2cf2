"""The ledger's lease statements against a real PostgreSQL: a renewal never waits on a row another
statement holds (a wait could deadlock, and outlast the stale-send time), and the retry loop never
takes back a message its own process still holds."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.sender.adapters.ledger import SendLedger
from shared.contract.internal import MessageRequested

pytestmark = pytest.mark.stack

_ROW = """
INSERT INTO send_ledger (message_id, workspace_id, contact_id, channel, category, template_id, state, request,
                         updated_at)
VALUES ($1, 'ws-leases', 'c-1', 'email', 'marketing', 't-1', 'sending', $2::jsonb, now() + $3::interval)
"""


async def _age(pool: asyncpg.Pool, message_id: str) -> float:
    """Seconds since the row was last touched (negative: dated ahead)."""
    age: float = await pool.fetchval(
        "SELECT extract(epoch FROM clock_timestamp() - updated_at) FROM send_ledger WHERE message_id = $1", message_id
    )
    return age


async def test_a_renewal_skips_a_row_being_written_instead_of_waiting_for_it(pool: asyncpg.Pool) -> None:
    busy, free = f"m-busy-{uuid.uuid4().hex[:8]}", f"m-free-{uuid.uuid4().hex[:8]}"
    for message_id in (busy, free):
        # Dated an hour ahead: no sender's retry loop on the stack takes these as stale, and a touch shows
        # as the date coming back to now.
        await pool.execute(_ROW, message_id, "{}", timedelta(hours=1))
    try:
        async with pool.acquire() as writer, writer.transaction():
            # Another statement (this sender finishing the attempt) holds the row's lock.
            await writer.execute("SELECT 1 FROM send_ledger WHERE message_id = $1 FOR UPDATE", busy)
            touched = await asyncio.wait_for(SendLedger(pool).renew([busy, free]), timeout=5)
            assert touched == 1
            assert 0 <= await _age(pool, free) < 5
            assert await _age(pool, busy) < -3000
    finally:
        await pool.execute("DELETE FROM send_ledger WHERE message_id = ANY($1::text[])", [busy, free])


def _request(message_id: str) -> str:
    now = datetime.now(UTC)
    return MessageRequested(
        event_id=message_id, workspace_id="ws-leases", contact_id="c-1", occurred_at=now, received_at=now,
        channel="email", template_id="t-1",
    ).model_dump_json()  # fmt: skip


async def test_the_retry_loop_leaves_a_stale_message_its_own_process_still_holds(pool: asyncpg.Pool) -> None:
    held, abandoned = f"m-held-{uuid.uuid4().hex[:8]}", f"m-gone-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:  # rolled back: rows other tests left stale stay as they were
            for message_id in (held, abandoned):
                await connection.execute(_ROW, message_id, _request(message_id), timedelta(seconds=-10))
            ledger = SendLedger(connection)  # type: ignore[arg-type]  # a connection runs the same statements
            taken = await ledger.take_due(limit=10_000, stale_after=timedelta(seconds=1), held=[held])
            taken_ids = {entry.message_id for entry in taken}
            assert abandoned in taken_ids and held not in taken_ids
            state = await connection.fetchval("SELECT state FROM send_ledger WHERE message_id = $1", held)
            assert state == "sending"
        finally:
            await transaction.rollback()


async def test_marking_leftover_outcomes_reported_skips_a_row_being_written_instead_of_waiting_for_it(
    pool: asyncpg.Pool,
) -> None:
    busy, free = f"m-busy-{uuid.uuid4().hex[:8]}", f"m-free-{uuid.uuid4().hex[:8]}"
    for message_id in (busy, free):
        await pool.execute(_ROW, message_id, _request(message_id), timedelta(hours=1))
        await pool.execute("UPDATE send_ledger SET state = 'sent', attempts = 1 WHERE message_id = $1", message_id)
    ledger = SendLedger(pool)
    entries = [entry for entry in [await ledger.get(busy), await ledger.get(free)] if entry is not None]
    try:
        async with pool.acquire() as writer, writer.transaction():
            await writer.execute("SELECT 1 FROM send_ledger WHERE message_id = $1 FOR UPDATE", busy)
            await asyncio.wait_for(ledger.mark_reported(entries, skip_busy=True), timeout=5)
            reported = dict(
                await pool.fetch(
                    "SELECT message_id, reported FROM send_ledger WHERE message_id = ANY($1::text[])", [busy, free]
                )
            )
            assert reported == {busy: False, free: True}  # the busy one is reported again later, same record id
    finally:
        await pool.execute("DELETE FROM send_ledger WHERE message_id = ANY($1::text[])", [busy, free])
