"""What a group of events says about their contacts, written with a few set-based statements.

Identity, profile, consent ledger and subscriptions of every event in a group take one combined
write, a single statement that needs no explicit transaction. A group of people seen for the first
time is written at once, as if none were on record: the statement undoes itself should any of
their identifiers be claimed already, and the group is then looked up and written again. So a
group of brand-new sign-ups costs one round trip, alone or 32 together; others cost a lookup and
the write, and when a contact is already on record its profile is read under lock first, in one
transaction with the write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from services.ingest.adapters.group_commit import RunAgain
from services.ingest.adapters.topics import offer_topics
from services.ingest.domain.consent import ConsentOutcome, ledger_row, subscription_rows
from services.ingest.domain.identity_claims import Assignment, ContactWanted, IdentityKey, assign_contacts
from services.ingest.domain.profile import merge_in_order
from shared.consent import store as consent
from shared.ids import new_id


@dataclass(frozen=True)
class ContactUpdate:
    """One event's news about its contact; `profile` None leaves the profile alone, `consent` None the consent."""

    workspace_id: str
    event_id: str
    contact: ContactWanted
    profile: dict[str, Any] | None = None
    consent: ConsentOutcome | None = None


@dataclass(frozen=True)
class ContactUpdated:
    contact_id: str
    profile: dict[str, Any] | None  # the whole profile after this event, when it carried one
    awaiting_confirmation: bool  # a subscription is now pending: ask the person to confirm


_LOOKUP = """
SELECT i.workspace_id, i.kind, i.value_hash, i.contact_id
FROM unnest($1::text[], $2::text[], $3::bytea[]) AS wanted(workspace_id, kind, value_hash)
JOIN contact_identities i USING (workspace_id, kind, value_hash)
"""
# The upsert takes the row lock, so concurrent merges of one contact queue up instead of losing fields.
_LOCK_PROFILES = """
INSERT INTO contacts (workspace_id, contact_id)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (workspace_id, contact_id) DO UPDATE SET updated_at = now()
RETURNING workspace_id, contact_id, profile
"""


async def write_contacts(connection: asyncpg.Connection, updates: list[ContactUpdate]) -> list[ContactUpdated]:
    """Resolve, merge and record every update, all or nothing; one answer per update, in order.

    Called outside a transaction: a statement that undoes itself must not abort the caller's.
    """
    wanted = [update.contact for update in updates]
    if all(contact.contact_id is None for contact in wanted):
        first_sight = assign_contacts(wanted, {}, new_id)
        contacts = [(u.workspace_id, c) for u, c in zip(updates, first_sight.contact_ids, strict=True)]
        every_claim = [key[2] for key, _ in first_sight.claims]
        try:
            return await _write(connection, updates, first_sight, contacts, {}, must_claim=every_claim)
        except asyncpg.SerializationError:
            pass  # someone of the group is on record already (or was just claimed): look them up
    assignment = assign_contacts(wanted, await _on_record(connection, wanted), new_id)
    contacts = [(u.workspace_id, c) for u, c in zip(updates, assignment.contact_ids, strict=True)]
    merging = zip(updates, contacts, assignment.fresh, strict=True)
    on_record = sorted({contact for update, contact, new in merging if update.profile is not None and not new})
    anchors = [anchor[2] for anchor in assignment.anchors]
    try:
        if not on_record:
            return await _write(connection, updates, assignment, contacts, {}, must_claim=anchors)
        async with connection.transaction():
            current = await _lock_profiles(connection, on_record)
            return await _write(connection, updates, assignment, contacts, current, must_claim=anchors)
    except asyncpg.SerializationError as error:
        raise RunAgain(str(error)) from error


async def _write(
    connection: asyncpg.Connection,
    updates: list[ContactUpdate],
    assignment: Assignment,
    contacts: list[tuple[str, str]],
    current: dict[tuple[str, str], dict[str, Any]],
    *,
    must_claim: list[bytes],
) -> list[ContactUpdated]:
    """The combined write (`WRITE_CONTACT_GROUP`); undone with a serialization failure unless every `must_claim`
    hash is claimed."""
    profiles, latest = merge_in_order(current, [(c, u.profile) for u, c in zip(updates, contacts, strict=True)])
    rows, pending = subscription_rows([(ws, c, u.consent) for u, (ws, c) in zip(updates, contacts, strict=True)])
    ledger = _ledger_columns(updates, assignment.contact_ids)
    claims = assignment.claims
    written = await consent.write_contact_group(
        connection,
        claims=(
            [key[0] for key, _ in claims],
            [key[1] for key, _ in claims],
            [key[2] for key, _ in claims],
            [contact_id for _, contact_id in claims],
        ),
        profiles=(
            [ws for ws, _ in latest],
            [c for _, c in latest],
            [orjson.dumps(profile).decode() for profile in latest.values()],
        ),
        ledger=ledger,
        subscribed=(
            [row.key[0] for row in rows],
            [row.key[1] for row in rows],
            [row.key[2] for row in rows],
            [row.status for row in rows],
            [row.expires_at for row in rows],
        ),
        must_claim=must_claim,
    )
    await offer_topics(connection, [(row.key[0], row.key[2]) for row in rows])
    changed = {(row["workspace_id"], row["contact_id"], row["topic"]) for row in written if row["topic"] is not None}
    return [
        ContactUpdated(contact_id, profile, bool(waits & changed))
        for contact_id, profile, waits in zip(assignment.contact_ids, profiles, pending, strict=True)
    ]


async def _on_record(connection: asyncpg.Connection, wanted: list[ContactWanted]) -> dict[IdentityKey, str]:
    keys = [key for contact in wanted if contact.contact_id is None for key in contact.identities]
    if not keys:
        return {}
    rows = await connection.fetch(_LOOKUP, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
    return {(row["workspace_id"], row["kind"], row["value_hash"]): row["contact_id"] for row in rows}


async def _lock_profiles(
    connection: asyncpg.Connection, contacts: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Profiles of contacts already on record (or named by the shop), locked until the commit."""
    rows = await connection.fetch(_LOCK_PROFILES, [ws for ws, _ in contacts], [c for _, c in contacts])
    return {(row["workspace_id"], row["contact_id"]): orjson.loads(row["profile"]) for row in rows}


def _ledger_columns(updates: list[ContactUpdate], contact_ids: list[str]) -> list[list[Any]]:
    """The consent ledger's columns for every entry of the group, in arrival order."""
    rows = [
        ledger_row(update.workspace_id, contact_id, update.event_id, entry)
        for update, contact_id in zip(updates, contact_ids, strict=True)
        if update.consent is not None
        for entry in update.consent.entries
    ]
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(12)]
