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

from shared.contract.internal import MessageRequested

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


def _entry(row: asyncpg.Record) -> LedgerEntry:
    request = MessageRequested.model_validate_json(row["request"])
    return LedgerEntry(row["message_id"], row["state"], row["attempts"], row["last_reply"], row["updated_at"], request)


_COLUMNS = "message_id, state, attempts, last_reply, updated_at, request::text AS request"


class SendLedger:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, request: MessageRequested) -> LedgerEntry | None:
        """The new row when this call claimed the message; None when it was claimed before."""
        row = await self._pool.fetchrow(
            "INSERT INTO send_ledger (message_id, workspace_id, contact_id, channel, category, template_id, "
            "state, request, flow_id, flow_version, step_id) "
            "VALUES ($1, $2, $3, $4, $5, $6, 'claimed', $7::jsonb, $8, $9, $10) "
            f"ON CONFLICT (message_id) DO NOTHING RETURNING {_COLUMNS}",
            request.event_id,
            request.workspace_id,
            request.contact_id,
            request.channel,
            request.category,
            request.template_id,
            request.model_dump_json(),
            request.flow_id,
            request.flow_version,
            request.step_id,
        )
        return None if row is None else _entry(row)

    async def start_attempt(self, message_id: str) -> int:
        """Mark the message in flight; from here until `finish`, a crash means it may go out twice."""
        attempts: int = await self._pool.fetchval(
            "UPDATE send_ledger SET state = 'sending', attempts = attempts + 1, updated_at = now() "
            "WHERE message_id = $1 RETURNING attempts",
            message_id,
        )
        return attempts

    async def finish(
        self, message_id: str, state: Final, reply: str | None, next_attempt_at: datetime | None = None
    ) -> LedgerEntry:
        row = await self._pool.fetchrow(
            "UPDATE send_ledger SET state = $2, last_reply = $3, next_attempt_at = $4, reported = false, "
            f"updated_at = now() WHERE message_id = $1 RETURNING {_COLUMNS}",
            message_id,
            state,
            reply,
            next_attempt_at,
        )
        assert row is not None, message_id
        return _entry(row)

    async def take_due(self, *, limit: int, stale_after: timedelta) -> list[LedgerEntry]:
        """Deferred messages whose time has come, and those a dead sender left behind; claimed for this caller."""
        rows = await self._pool.fetch(
            "UPDATE send_ledger SET state = 'claimed', updated_at = now() WHERE message_id IN ("
            " SELECT message_id FROM send_ledger"
            " WHERE (state = 'deferred' AND next_attempt_at <= now())"
            "    OR (state IN ('claimed', 'sending') AND updated_at < now() - $2::interval)"
            " ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
            f" RETURNING {_COLUMNS}",
            limit,
            stale_after,
        )
        return [_entry(row) for row in rows]

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
        return [_entry(row) for row in rows]

    async def mark_reported(self, entries: list[LedgerEntry]) -> None:
        """Only the state that was reported: a newer outcome still needs its own record."""
        await self._pool.executemany(
            "UPDATE send_ledger SET reported = true WHERE message_id = $1 AND state = $2 AND attempts = $3",
            [(entry.message_id, entry.state, entry.attempts) for entry in entries],
        )

    async def get(self, message_id: str) -> LedgerEntry | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM send_ledger WHERE message_id = $1", message_id)
        return None if row is None else _entry(row)
