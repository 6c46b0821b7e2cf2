"""A group's contacts written with set-based statements on the real PostgreSQL: same outcome as one by one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from services.ingest.adapters.contact_writes import ContactUpdate, ContactUpdated, write_contacts
from services.ingest.adapters.group_commit import GroupCommit
from services.ingest.domain.consent import DoubleOptIn, signup_consent
from services.ingest.domain.identity_claims import ContactWanted
from shared.contract.shop import ConsentGiven
from shared.identity import IdentifierKind, identifier_hash

pytestmark = pytest.mark.stack
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def workspace() -> str:
    return f"ws-{uuid.uuid4().hex[:8]}"


def sign_up(
    workspace: str, event_id: str, profile: dict[str, Any], *, double_opt_in: bool = True, **who: str
) -> ContactUpdate:
    kinds: list[IdentifierKind] = ["external_id", "email", "phone"]
    keys = [(workspace, kind, identifier_hash(workspace, kind, who[kind])) for kind in kinds if kind in who]
    consent = signup_consent(
        ConsentGiven(marketing=True, topics=["news"]), source="form", occurred_at=NOW, rule=DoubleOptIn(double_opt_in)
    )
    return ContactUpdate(workspace, event_id, ContactWanted(None, keys), profile, consent)


async def _write(pool: asyncpg.Pool, updates: list[ContactUpdate]) -> list[ContactUpdated]:
    async with pool.acquire() as connection:  # outside a transaction: the write opens one when it needs one
        return await write_contacts(connection, updates)


async def test_new_sign_ups_of_a_group_each_get_identities_profile_ledger_and_pending_subscriptions(
    pool: asyncpg.Pool, workspace: str
) -> None:
    updates = [sign_up(workspace, f"su-{n}", {"first_name": f"P{n}"}, email=f"p{n}@example.com") for n in range(3)]
    written = await _write(pool, updates)

    contact_ids = [w.contact_id for w in written]
    assert len(set(contact_ids)) == 3
    assert [w.profile for w in written] == [{"first_name": f"P{n}"} for n in range(3)]
    assert all(w.awaiting_confirmation for w in written)
    claimed = await pool.fetch("SELECT contact_id FROM contact_identities WHERE workspace_id = $1", workspace)
    assert sorted(row["contact_id"] for row in claimed) == sorted(contact_ids)
    ledger = await pool.fetch(
        "SELECT contact_id, scope, dedupe_key, occurred_at FROM consent_ledger WHERE workspace_id = $1 ORDER BY id",
        workspace,
    )
    assert [(r["contact_id"], r["scope"], r["dedupe_key"]) for r in ledger] == [
        (contact_ids[n], scope, f"su-{n}:grant:{scope}") for n in range(3) for scope in ("*", "channel:email", "news")
    ]
    subscriptions = await pool.fetch(
        "SELECT DISTINCT status, expires_at FROM contact_subscriptions WHERE workspace_id = $1", workspace
    )
    assert [tuple(row) for row in subscriptions] == [("pending", datetime(2026, 3, 8, tzinfo=UTC))]


async def test_events_about_one_person_in_one_group_resolve_together_and_merge_in_order(
    pool: asyncpg.Pool, workspace: str
) -> None:
    first = sign_up(workspace, "su-1", {"first_name": "Kari", "tags": ["a"]}, email="kari@example.com")
    second = sign_up(workspace, "su-2", {"tags": ["b"]}, email="kari@example.com", phone="+4790000000")
    retry = sign_up(workspace, "su-1", {"first_name": "Kari", "tags": ["a"]}, email="kari@example.com")
    written = await _write(pool, [first, second, retry])

    assert len({w.contact_id for w in written}) == 1
    assert [w.profile for w in written] == [
        {"first_name": "Kari", "tags": ["a"]},
        {"first_name": "Kari", "tags": ["a", "b"]},
        {"first_name": "Kari", "tags": ["a", "b"]},
    ]
    assert all(w.awaiting_confirmation for w in written)  # still pending: each may ask (one message id per event)
    keys = await pool.fetch("SELECT dedupe_key FROM consent_ledger WHERE workspace_id = $1 ORDER BY id", workspace)
    assert [row[0] for row in keys] == [
        f"su-{n}:grant:{scope}" for n in (1, 2) for scope in ("*", "channel:email", "news")
    ]
    assert await pool.fetchval("SELECT count(*) FROM contact_identities WHERE workspace_id = $1", workspace) == 2


async def test_a_returning_contact_keeps_its_profile_and_a_confirmed_subscription(
    pool: asyncpg.Pool, workspace: str
) -> None:
    [known] = await _write(pool, [sign_up(workspace, "su-1", {"first_name": "Kari"}, email="kari@example.com")])
    await pool.execute("UPDATE contact_subscriptions SET status = 'subscribed' WHERE workspace_id = $1", workspace)

    again = sign_up(workspace, "su-2", {"last_name": "Nordmann"}, external_id="c-9", email="kari@example.com")
    [written] = await _write(pool, [again])
    assert written.contact_id == known.contact_id
    assert written.profile == {"first_name": "Kari", "last_name": "Nordmann"}
    assert not written.awaiting_confirmation
    statuses = await pool.fetch("SELECT DISTINCT status FROM contact_subscriptions WHERE workspace_id = $1", workspace)
    assert [row[0] for row in statuses] == ["subscribed"]
    owners = await pool.fetch("SELECT DISTINCT contact_id FROM contact_identities WHERE workspace_id = $1", workspace)
    assert [row[0] for row in owners] == [known.contact_id]  # the new external id joined Kari


async def test_a_new_person_claimed_meanwhile_by_another_writer_becomes_theirs(
    pool: asyncpg.Pool, workspace: str
) -> None:
    update = sign_up(workspace, "su-1", {"first_name": "Kari"}, email="kari@example.com")
    [(_, kind, value_hash)] = update.contact.identities
    other = await pool.acquire()
    try:
        claim = other.transaction()
        await claim.start()  # the other writer has claimed Kari but not committed yet
        await other.execute(
            "INSERT INTO contact_identities (workspace_id, kind, value_hash, contact_id) VALUES ($1, $2, $3, 'theirs')",
            workspace,
            kind,
            value_hash,
        )
        group: GroupCommit[ContactUpdate, ContactUpdated] = GroupCommit(pool, write_contacts)
        ours = asyncio.create_task(group.run_alone([update]))
        await _until_waiting_on_a_lock(pool)
        await claim.commit()
        [written] = await asyncio.wait_for(ours, 10)
    finally:
        await pool.release(other)
    assert written.contact_id == "theirs"
    profiles = await pool.fetch("SELECT contact_id, profile FROM contacts WHERE workspace_id = $1", workspace)
    assert [tuple(row) for row in profiles] == [("theirs", '{"first_name": "Kari"}')]  # nothing of the first try kept
    ledger = await pool.fetch("SELECT DISTINCT contact_id FROM consent_ledger WHERE workspace_id = $1", workspace)
    assert [row[0] for row in ledger] == ["theirs"]


async def _until_waiting_on_a_lock(pool: asyncpg.Pool) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    while not await pool.fetchval(query):
        assert asyncio.get_running_loop().time() < deadline, "the write never waited for the other claim"
        await asyncio.sleep(0.01)


class _CountedStatements:
    """The connection, counting the statements sent through it."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection
        self.statements = 0

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        self.statements += 1
        return list(await self._connection.fetch(query, *args))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


async def test_a_group_of_new_people_costs_one_statement_and_returning_ones_a_lookup_more(
    pool: asyncpg.Pool, workspace: str
) -> None:
    new = [sign_up(workspace, f"su-{n}", {"first_name": "P"}, email=f"p{n}@example.com") for n in range(5)]
    again = [sign_up(workspace, "su-9", {"last_name": "Q"}, email="p1@example.com"), *new[2:]]
    async with pool.acquire() as connection:
        counted = _CountedStatements(connection)
        first = await write_contacts(counted, new)  # type: ignore[arg-type]
        assert counted.statements == 1
        counted.statements = 0
        second = await write_contacts(counted, again)  # type: ignore[arg-type]
    assert counted.statements == 4  # the undone first try, the lookup, the locked profiles, the write
    assert [w.contact_id for w in second] == [first[1].contact_id, *(w.contact_id for w in first[2:])]
    assert second[0].profile == {"first_name": "P", "last_name": "Q"}
