"""The send ledger: one row per message, so a replayed request never sends twice.

Whoever inserts a message's row is its only sender. A row left `claimed` or `sending`
for `stale_after` seconds belongs to a sender that died; it is sent again. For a row
left `sending` after the SMTP server said 250 that is a duplicate: the only one possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg
import structlog
from pydantic import ValidationError

from shared.contract.internal import MessageRequested

log = structlog.get_logger(__name__)

State = Literal["claimed", "sending", "sent", "deferred", "failed", "bounced", "suppressed"]
Final = Literal["sent", "deferred", "failed", "bounced", "suppressed"]


@dataclass(frozen=True)
class LedgerEntry:
    message_id: str
    state: State
    attempts: int
    last_reply: str | None
    updated_at: datetime
    request: MessageRequested
    opens_tracked: bool | None = None  # a sent email: whether it carried the open pixel


def _entry(row: asyncpg.Record) -> LedgerEntry:
    request = MessageRequested.model_validate_json(row["request"])
    return LedgerEntry(
        row["message_id"], row["state"], row["attempts"], row["last_reply"], row["updated_at"], request,
        row["opens_tracked"],
    )  # fmt: skip


def _readable(rows: list[asyncpg.Record]) -> tuple[list[LedgerEntry], list[str]]:
    """The rows as entries, and the ids of rows whose stored request no longer reads as one."""
    entries, unreadable = [], []
    for row in rows:
        try:
            entries.append(_entry(row))
        except ValidationError:
            unreadable.append(row["message_id"])
    return entries, unreadable


UNREADABLE = "its stored request cannot be read; it was not sent"
_COLUMNS = "message_id, state, attempts, last_reply, updated_at, request::text AS request, opens_tracked"


@dataclass(frozen=True)
class Settled:
    """What became of one attempt, for `finish_all`."""

    message_id: str
    state: Final
    reply: str | None
    next_attempt_at: datetime | None = None
    subject: str | None = None  # an email's subject as rendered for its reader (the person's data export shows it)
    opens_tracked: bool | None = None  # an email: whether it carries the open pixel


_CLAIM = """
INSERT INTO send_ledger (message_id, workspace_id, contact_id, channel, category, template_id,
                         state, request, flow_id, flow_version, step_id)
SELECT m, w, c, ch, cat, t, 'claimed', r::jsonb, f, fv, s
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::int[], $10::text[]) AS u(m, w, c, ch, cat, t, r, f, fv, s)
ON CONFLICT (message_id) DO NOTHING
RETURNING message_id, attempts, updated_at
"""

_START = """
UPDATE send_ledger SET state = 'sending', attempts = attempts + 1, updated_at = now()
WHERE message_id = ANY($1::text[]) RETURNING message_id, attempts
"""

_FINISH = """
UPDATE send_ledger l SET state = u.state, last_reply = u.reply, next_attempt_at = u.next_at,
                         subject = coalesce(u.subject, l.subject),
                         opens_tracked = coalesce(u.opens_tracked, l.opens_tracked),
                         reported = false, updated_at = now()
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::bool[])
  AS u(message_id, state, reply, next_at, subject, opens_tracked)
WHERE l.message_id = u.message_id
RETURNING l.message_id, l.attempts, l.updated_at
"""


_MARK_REPORTED = """
UPDATE send_ledger l SET reported = true
FROM unnest($1::text[], $2::text[], $3::int[]) AS u(message_id, state, attempts)
WHERE l.message_id = u.message_id AND l.state = u.state AND l.attempts = u.attempts
"""

_MARK_REPORTED_UNLESS_BUSY = """
UPDATE send_ledger SET reported = true WHERE message_id IN (
  SELECT l.message_id FROM send_ledger l
  JOIN unnest($1::text[], $2::text[], $3::int[]) AS u(message_id, state, attempts)
    ON l.message_id = u.message_id AND l.state = u.state AND l.attempts = u.attempts
  FOR UPDATE OF l SKIP LOCKED)
"""


class SendLedger:
    """Every write takes many messages in one statement: one commit per step, not per message."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim_all(self, requests: list[MessageRequested]) -> list[LedgerEntry]:
        """The messages this call claimed, in request order; replays (claimed before) are left out."""
        unique = list({request.event_id: request for request in requests}.values())  # a replay in the batch
        if not unique:
            return []
        rows = await self._pool.fetch(
            _CLAIM,
            [r.event_id for r in unique],
            [r.workspace_id for r in unique],
            [r.contact_id for r in unique],
            [r.channel for r in unique],
            [r.category for r in unique],
            [r.template_id for r in unique],
            [r.model_dump_json() for r in unique],
            [r.flow_id for r in unique],
            [r.flow_version for r in unique],
            [r.step_id for r in unique],
        )
        claimed = {row["message_id"]: row for row in rows}
        return [
            LedgerEntry(r.event_id, "claimed", 0, None, claimed[r.event_id]["updated_at"], r)
            for r in unique
            if r.event_id in claimed
        ]

    async def start_attempts(self, message_ids: list[str]) -> dict[str, int]:
        """Mark the messages in flight (attempt count by id); until `finish_all`, a crash may send them twice."""
        if not message_ids:
            return {}
        rows = await self._pool.fetch(_START, message_ids)
        return {row["message_id"]: row["attempts"] for row in rows}

    async def renew(self, message_ids: list[str]) -> int:
        """Still being worked on: keep the stale-send rule off these (returns how many were touched).

        A row another statement is writing is skipped, not waited for: that statement is this sender
        starting or finishing the attempt, which touches the row itself. Waiting could deadlock with
        it (both lock many rows, in no common order), and the time lost to detecting that can be longer
        than the stale-send time, which would send the message twice."""
        result = await self._pool.execute(
            "UPDATE send_ledger SET updated_at = now() WHERE message_id IN ("
            " SELECT message_id FROM send_ledger"
            " WHERE message_id = ANY($1::text[]) AND state IN ('claimed', 'sending')"
            " FOR UPDATE SKIP LOCKED)",
            message_ids,
        )
        return int(result.split()[-1])

    async def finish_all(self, settled: list[Settled], requests: dict[str, MessageRequested]) -> list[LedgerEntry]:
        """Record each outcome (unreported until its status is on the broker); `requests` by message id."""
        if not settled:
            return []
        rows = await self._pool.fetch(
            _FINISH,
            [s.message_id for s in settled],
            [s.state for s in settled],
            [s.reply for s in settled],
            [s.next_attempt_at for s in settled],
            [s.subject for s in settled],
            [s.opens_tracked for s in settled],
        )
        found = {row["message_id"]: row for row in rows}
        missing = [s.message_id for s in settled if s.message_id not in found]
        assert not missing, missing
        return [
            LedgerEntry(
                s.message_id,
                s.state,
                found[s.message_id]["attempts"],
                s.reply,
                found[s.message_id]["updated_at"],
                requests[s.message_id],
                s.opens_tracked,
            )
            for s in settled
        ]

    async def take_due(self, *, limit: int, stale_after: timedelta, held: list[str]) -> list[LedgerEntry]:
        """Deferred messages whose time has come, and those a dead sender left behind; claimed for this caller.

        `held` are the messages the caller is still working on: however late their lease, they are not
        abandoned, so they are never taken back by their own process."""
        rows = await self._pool.fetch(
            "UPDATE send_ledger SET state = 'claimed', updated_at = now() WHERE message_id IN ("
            " SELECT message_id FROM send_ledger"
            " WHERE ((state = 'deferred' AND next_attempt_at <= now())"
            "    OR (state IN ('claimed', 'sending') AND updated_at < now() - $2::interval))"
            "   AND NOT (message_id = ANY($3::text[]))"
            " ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
            f" RETURNING {_COLUMNS}",
            limit,
            stale_after,
            held,
        )
        return await self._without_unreadable(rows)

    async def unreported(self, *, limit: int, older_than: timedelta) -> list[LedgerEntry]:
        """Outcomes whose status record did not reach the broker (it was away).

        Fresh outcomes are left alone: their own sender is about to report them.
        """
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM send_ledger WHERE NOT reported AND state NOT IN ('claimed', 'sending') "
            "AND updated_at < now() - $2::interval ORDER BY updated_at LIMIT $1",
            limit,
            older_than,
        )
        return await self._without_unreadable(rows)

    async def _without_unreadable(self, rows: list[asyncpg.Record]) -> list[LedgerEntry]:
        """A row whose stored request cannot be read ends `failed` and leaves the loops' way: one bad row
        must not stop every retry and report after it."""
        entries, unreadable = _readable(rows)
        if unreadable:
            await self._pool.execute(
                "UPDATE send_ledger SET state = 'failed', last_reply = $2, reported = true, updated_at = now() "
                "WHERE message_id = ANY($1::text[])",
                unreadable,
                UNREADABLE,
            )
            log.warning("ledger.unreadable_requests", count=len(unreadable), message_ids=unreadable[:5])
        return entries

    async def mark_reported(self, entries: list[LedgerEntry], *, skip_busy: bool = False) -> None:
        """Only the state that was reported: a newer outcome still needs its own record.

        `skip_busy` (for outcomes another sender may be working on again) skips a row another statement
        is writing instead of waiting for it: a wait could deadlock with that sender finishing an
        attempt, and a finish lost to that is a message sent twice. A skipped row stays unreported, and
        its record goes again with the same id (dropped as a repeat) from the retry loop."""
        await self._pool.execute(
            _MARK_REPORTED_UNLESS_BUSY if skip_busy else _MARK_REPORTED,
            [entry.message_id for entry in entries],
            [entry.state for entry in entries],
            [entry.attempts for entry in entries],
        )

    async def get(self, message_id: str) -> LedgerEntry | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM send_ledger WHERE message_id = $1", message_id)
        return None if row is None else _entry(row)
