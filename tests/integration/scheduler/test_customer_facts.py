"""Customer facts on the real stack: folded from the shop's events, read by segments, replay-proof, erased."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from services.scheduler.adapters.facts import load_facts, record_facts
from services.scheduler.domain import Event
from shared.contract.topics import SEGMENT_CHANGES
from tests.integration.scheduler.conftest import Shop
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


def _purchase(event_id: str, at: datetime, revenue: str) -> Event:
    items = [{"product_id": "boots", "quantity": 1}]
    return Event(id=event_id, type="purchase", at=at, data={"revenue": revenue, "currency": "EUR", "items": items})


async def test_replaying_events_leaves_the_facts_as_they_were(stack: RealStack) -> None:
    workspace_id, contact_id = f"facts-{uuid.uuid4().hex[:8]}", "c-1"
    now = datetime.now(UTC)
    events = [
        _purchase("p-1", now - timedelta(days=200), "40"),
        _purchase("p-2", now - timedelta(days=130), "60"),
        Event(id="o-1", type="message_opened", at=now - timedelta(days=3)),
        Event(id="o-2", type="message_opened", at=now - timedelta(hours=1), machine=True),
    ]
    connection = await asyncpg.connect(stack.database_url)
    try:
        await record_facts(connection, [(workspace_id, contact_id, e) for e in events], now)
        [first] = (await load_facts(connection, [(workspace_id, contact_id)], now)).values()
        for _ in range(2):  # the topics replayed, twice, in another order
            await record_facts(connection, [(workspace_id, contact_id, e) for e in reversed(events)], now)
        [after] = (await load_facts(connection, [(workspace_id, contact_id)], now)).values()
    finally:
        await connection.close()
    assert after == first
    value = after.value(now)
    assert (value["order_count"], value["total_spent"], value["average_order_value"]) == (
        2,
        {"EUR": 100.0},
        {"EUR": 50.0},
    )
    assert value["last_open_at"] == now - timedelta(days=3)  # the proxy's open an hour ago does not count
    assert value["engagement"] == "engaged"


async def test_two_consumers_writing_a_contacts_first_facts_at_once_both_count(stack: RealStack) -> None:
    """A purchase and a visit of a new contact arrive on different topics, so possibly in two consumers at
    once: the second to insert folds its events over the first one's row instead of overwriting it."""
    workspace_id, contact_id = f"facts-{uuid.uuid4().hex[:8]}", "c-1"
    now = datetime.now(UTC)
    first, second = await asyncpg.connect(stack.database_url), await asyncpg.connect(stack.database_url)
    try:
        transaction = first.transaction()
        await transaction.start()
        await record_facts(first, [(workspace_id, contact_id, _purchase("p-1", now - timedelta(days=2), "40"))], now)
        visit = Event(id="v-1", type="page_viewed", at=now - timedelta(hours=1))
        racing = asyncio.create_task(record_facts(second, [(workspace_id, contact_id, visit)], now))
        await asyncio.sleep(0.5)
        assert not racing.done(), "the second consumer must wait for the first one's row"
        await transaction.commit()
        await asyncio.wait_for(racing, 10)
        [facts] = (await load_facts(first, [(workspace_id, contact_id)], now)).values()
    finally:
        await first.close()
        await second.close()
    assert (facts.order_count, facts.last_purchase_at) == (1, now - timedelta(days=2))
    assert facts.last_seen_at == now - timedelta(hours=1)


async def test_purchases_move_a_contact_into_a_segment_on_facts_and_erasure_removes_them(shop: Shop) -> None:
    tag = uuid.uuid4().hex[:10]
    email = f"{tag}@example.com"
    async with shop.scheduler() as scheduler:
        segment = {"id": "repeat", "name": "Repeat buyers", "condition": "contact.facts.order_count >= 2"}
        assert (await scheduler.post("/v1/segments", json=segment)).status_code == 201
        await shop.signup(email)
        for n in (1, 2, 2):  # the second purchase is sent twice, as a retrying shop does
            await shop.event(
                {"type": "purchase", "event_id": f"order-{n}-{tag}", "contact": {"email": email},
                 "order_id": f"o-{n}", "revenue": "25.50", "currency": "EUR", "items": [{"product_id": "tea"}]}
            )  # fmt: skip
        await until_async(lambda: _members(scheduler, "repeat"), 1)

    [contact_id] = [r["contact_id"] for r in await _facts_rows(shop)]
    overview = (await shop.ingest.get(f"/v1/contacts/{contact_id}")).json()
    assert overview["facts"]["order_count"] == 2 and overview["facts"]["spent"] == {
        "EUR": {"total": "51.00", "orders": 2}
    }
    assert overview["facts"]["last_order_products"] == [{"product_id": "tea", "quantity": 1}]
    document = (await shop.ingest.get(f"/v1/contacts/{contact_id}/export")).json()
    computed = document["facts"]  # as flows, segments and templates read them
    assert (computed["order_count"], computed["total_spent"], computed["engagement"]) == (2, {"EUR": 51.0}, "unengaged")
    assert computed["last_order_products"] == [{"product_id": "tea", "quantity": 1}]
    exported = document["data"]
    [facts] = exported["contact_facts"]
    assert facts["order_count"] == 2 and facts["spent"] == {"EUR": {"total": "51.00", "orders": 2}}, facts
    assert [o["event_id"] for o in exported["contact_orders"]] == [f"order-1-{tag}", f"order-2-{tag}"]
    assert (await shop.ingest.delete(f"/v1/contacts/{contact_id}")).status_code == 200
    assert await _facts_rows(shop) == []


async def _members(scheduler: httpx.AsyncClient, segment_id: str) -> int:
    return int((await scheduler.get(f"/v1/segments/{segment_id}")).json()["members"])


async def until_async(read: Callable[[], Awaitable[int]], expected: int, timeout: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (found := await read()) != expected:
        assert loop.time() < deadline, f"found {found}, expected {expected}"
        await asyncio.sleep(0.05)


async def _facts_rows(shop: Shop) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(shop.stack.database_url)
    try:
        found: list[asyncpg.Record] = await connection.fetch(
            "SELECT * FROM contact_facts WHERE workspace_id = $1", shop.workspace_id
        )
        return found
    finally:
        await connection.close()


async def test_a_segment_with_time_in_it_takes_in_a_contact_when_the_clock_passes_the_threshold(shop: Shop) -> None:
    tag = uuid.uuid4().hex[:10]
    email = f"{tag}@example.com"
    async with shop.scheduler() as scheduler:
        lapsed = {
            "id": "lapsed",
            "name": "Lapsed",
            "condition": "contact.facts.last_purchase_at < now - duration('3s')",
        }
        assert (await scheduler.post("/v1/segments", json=lapsed)).status_code == 201
        await shop.signup(email)
        await shop.event(
            {"type": "purchase", "contact": {"email": email}, "order_id": "o-1", "revenue": "10", "currency": "EUR"}
        )
        bought = datetime.now(UTC)
        await until_async(lambda: _members(scheduler, "lapsed"), 1, timeout=20)
        entered = datetime.now(UTC)
    assert entered - bought >= timedelta(seconds=2.5)  # not before the threshold
    [change] = await read_topic(
        shop._stack(), SEGMENT_CHANGES, count=1, where=lambda r: r.get("workspace_id") == shop.workspace_id
    )
    assert (change["segment_id"], change["change"], change["cause"]) == ("lapsed", "entered", "time")
    assert {name for name in change if not name.startswith("__")} == {
        "event_id", "workspace_id", "contact_id", "occurred_at", "received_at", "schema_version",
        "segment_id", "change", "cause",
    }  # fmt: skip
