"""Two analytics processes folding records of the same new message at once (its request and its status
arrive on different topics, so different partitions, so possibly different processes)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from services.scheduler.analytics.workers.fold import Fold
from shared.contract import MessageRequested, MessageStatus
from shared.contract.topics import MESSAGES_REQUESTED, MESSAGES_STATUS
from shared.kafka.consumer import Incoming

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _records(workspace_id: str, message_id: str) -> tuple[Incoming, Incoming]:
    common = {"workspace_id": workspace_id, "contact_id": "c-1", "occurred_at": NOW, "received_at": NOW}
    flow = {"flow_id": "welcome", "flow_version": 3, "step_id": "hello"}
    request = MessageRequested(event_id=message_id, channel="email", template_id="hello", **flow, **common)
    status = MessageStatus(
        event_id=f"{message_id}-sent", message_id=message_id, status="sent", channel="email", **common
    )
    return Incoming(MESSAGES_REQUESTED, "c-1", request, 0, 1), Incoming(MESSAGES_STATUS, "c-1", status, 0, 1)


async def _daily(pool: asyncpg.Pool, workspace_id: str) -> dict[str, int]:
    row = await pool.fetchrow(
        "SELECT sum(requested) AS requested, sum(sent) AS sent FROM analytics_daily WHERE workspace_id = $1",
        workspace_id,
    )
    return {"requested": row["requested"], "sent": row["sent"]}


async def test_a_status_folded_while_another_process_inserts_its_message_lands_on_that_row(pool: asyncpg.Pool) -> None:
    workspace_id, message_id = f"ws-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    request, status = _records(workspace_id, message_id)
    async with pool.acquire() as first:
        transaction = first.transaction()
        await transaction.start()
        await Fold(pool)._handle(first, [request])  # inserted, not yet committed
        second = asyncio.create_task(Fold(pool).handle([status]))
        await asyncio.sleep(0.5)
        assert not second.done(), "the second fold must wait for the first one's row"
        await transaction.commit()
    await asyncio.wait_for(second, 10)

    row = await pool.fetchrow(
        "SELECT flow_id, flow_version, requested_at, sent_at FROM analytics_messages "
        "WHERE workspace_id = $1 AND message_id = $2",
        workspace_id,
        message_id,
    )
    assert dict(row) == {"flow_id": "welcome", "flow_version": 3, "requested_at": NOW, "sent_at": NOW}
    assert await _daily(pool, workspace_id) == {"requested": 1, "sent": 1}


async def test_a_new_message_folded_in_one_batch_is_stored_whole_and_a_replay_adds_nothing(pool: asyncpg.Pool) -> None:
    workspace_id, message_id = f"ws-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    request, status = _records(workspace_id, message_id)
    fold = Fold(pool)
    await fold.handle([request, status])
    await fold.handle([status, request])

    row = await pool.fetchrow(
        "SELECT requested_at, sent_at FROM analytics_messages WHERE workspace_id = $1 AND message_id = $2",
        workspace_id,
        message_id,
    )
    assert (row["requested_at"], row["sent_at"]) == (NOW, NOW)
    assert await _daily(pool, workspace_id) == {"requested": 1, "sent": 1}
