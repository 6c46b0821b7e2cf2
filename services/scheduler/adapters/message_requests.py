"""Message requests awaiting the sender (`message_requests`), and what the sender's ledger says of them.

A request is kept in the transaction that puts it in the outbox, and dropped once the send ledger
(`send_ledger`, the sender's) has a row for its message id: from then on the sender owns it (its
retries and stale-send rule). A request the ledger still lacks after a while never reached the sender,
and the reconciliation asks for it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import orjson

from shared.contract.topics import MESSAGES_REQUESTED
from shared.kafka.producer import OutgoingRecord
from shared.outbox_frames import pack, unpack

_REMEMBER = """
INSERT INTO message_requests (message_id, workspace_id, contact_id, record)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])
ON CONFLICT (message_id) DO NOTHING
"""
# Oldest first, whatever their age: once the ledger has a message, the row has nothing left to say.
_FORGET_RECORDED = """
DELETE FROM message_requests WHERE message_id IN (
    SELECT r.message_id FROM message_requests r
    WHERE EXISTS (SELECT 1 FROM send_ledger l WHERE l.message_id = r.message_id)
    ORDER BY r.requested_at LIMIT $1
    FOR UPDATE OF r SKIP LOCKED
)
"""
# Older than the cutoff, and older than every row still waiting in the outbox: a request and its outbox
# row are written in one transaction (the same now()), so such a request has left the outbox; while the
# relay cannot reach the broker, nothing is asked for again. `LEAST` ignores the NULL of an empty outbox.
_UNANSWERED = """
SELECT r.message_id, r.record, r.re_requests, c.contact_id IS NULL AS erased
FROM message_requests r
LEFT JOIN contacts c ON c.workspace_id = r.workspace_id AND c.contact_id = r.contact_id
WHERE r.requested_at < LEAST(now() - make_interval(secs => $1), (SELECT min(created_at) FROM outbox))
  AND NOT EXISTS (SELECT 1 FROM send_ledger l WHERE l.message_id = r.message_id)
ORDER BY r.requested_at LIMIT $2
FOR UPDATE OF r SKIP LOCKED
"""
_REQUESTED_AGAIN = """
UPDATE message_requests SET requested_at = now(), re_requests = re_requests + 1
WHERE message_id = ANY($1::text[])
"""


@dataclass(frozen=True)
class Unanswered:
    """A request the sender's ledger does not know."""

    message_id: str
    record: OutgoingRecord
    re_requests: int
    erased: bool  # the contact is gone: nothing to send


async def remember(connection: asyncpg.Connection, records: Sequence[OutgoingRecord]) -> None:
    """Keep the `messages.requested` records among `records`, in the caller's (the outbox's) transaction."""
    requests = [record for record in records if record.topic is MESSAGES_REQUESTED and record.value is not None]
    if not requests:
        return
    values = [orjson.loads(record.value or b"{}") for record in requests]
    await connection.execute(
        _REMEMBER,
        [value["event_id"] for value in values],
        [value["workspace_id"] for value in values],
        [value["contact_id"] for value in values],
        [pack([record]) for record in requests],
    )


async def forget_recorded(connection: asyncpg.Connection, *, limit: int) -> int:
    """Drop up to `limit` requests the sender's ledger holds; returns how many."""
    status = await connection.execute(_FORGET_RECORDED, limit)
    return int(status.split()[-1])


async def unanswered(connection: asyncpg.Connection, *, older_than_seconds: float, limit: int) -> list[Unanswered]:
    """Requests older than `older_than_seconds` the ledger lacks, oldest first, locked for the caller."""
    rows = await connection.fetch(_UNANSWERED, older_than_seconds, limit)
    return [Unanswered(row["message_id"], unpack(row["record"])[0], row["re_requests"], row["erased"]) for row in rows]


async def requested_again(connection: asyncpg.Connection, message_ids: Sequence[str]) -> None:
    """The clock of these requests starts again (and counts one more request)."""
    if message_ids:
        await connection.execute(_REQUESTED_AGAIN, list(message_ids))


async def forget(connection: asyncpg.Connection, message_ids: Sequence[str]) -> None:
    if message_ids:
        await connection.execute("DELETE FROM message_requests WHERE message_id = ANY($1::text[])", list(message_ids))
