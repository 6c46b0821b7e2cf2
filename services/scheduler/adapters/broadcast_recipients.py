"""A broadcast's recipients (`broadcast_recipients`): resolved set-based, claimed when due, settled in bulk.

Resolution is one `INSERT ... SELECT` per batch of contact ids (keyset order), so a million recipients
cost a few hundred statements, not a million round trips. Each row gets its variant (an even split by a
hash of the contact id) and when it is due: at once, at the instant, or at the local time in the contact's
zone (the workspace's when theirs is unknown or not a zone PostgreSQL knows; at once when that moment has
passed). Contacts created after the audience froze are left out. In a test then send, those outside the
sample wait with no variant (`''`) and no due time until the winner is picked. Each row keeps the domain of
the contact's email address, for a throttle per receiving domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from services.scheduler.domain.broadcasts import Audience, MarketingAudience, SegmentAudience
from shared.consent import store

# Where the audience's contact ids come from, in contact id order: one index range scan per batch.
_SOURCES = {
    "segment": "SELECT contact_id FROM segment_members WHERE workspace_id = $1 AND segment_id = $8",
    # The consent store's statement: its tables are read through their one owner.
    "topic": store.topic_subscribers_subquery(workspace_parameter=1, topic_parameter=8),
}
_RESOLVE = """
-- The zone names PostgreSQL knows (it reads its zone files for them), only for a local-time schedule.
WITH zones AS MATERIALIZED (SELECT name FROM pg_timezone_names WHERE $9::date IS NOT NULL),
picked AS MATERIALIZED (
    SELECT c.contact_id, c.profile ->> 'timezone' AS tz,
           NULLIF(lower(split_part(c.profile ->> 'email', '@', 2)), '') AS domain
    FROM ({source}) s
    JOIN contacts c ON c.workspace_id = $1 AND c.contact_id = s.contact_id
    WHERE s.contact_id > $3 AND c.created_at <= $4
      AND NOT EXISTS (
          SELECT 1 FROM segment_members x
          WHERE x.workspace_id = $1 AND x.contact_id = c.contact_id AND x.segment_id = ANY($5::text[])
      )
    ORDER BY s.contact_id LIMIT $6
),
sampled AS (
    SELECT p.contact_id, p.tz, p.domain,
           $13::int IS NULL OR mod(hashtext('sample:' || $2 || ':' || p.contact_id)::bigint + 2147483648, 100) < $13
               AS tried
    FROM picked p
),
inserted AS (
    INSERT INTO broadcast_recipients (workspace_id, broadcast_id, contact_id, variant, due_at, state, reason, domain)
    SELECT $1, $2, p.contact_id,
           CASE WHEN p.tried
                THEN ($7::text[])[1 + mod(hashtext($2 || ':' || p.contact_id)::bigint + 2147483648,
                                          cardinality($7::text[]))]
                ELSE '' END,
           CASE WHEN NOT p.tried THEN 'infinity'::timestamptz
                WHEN $9::date IS NULL THEN $11::timestamptz
                ELSE GREATEST($11::timestamptz, ($9::date + $10::interval) AT TIME ZONE COALESCE(z.name, $12)) END,
           'waiting', CASE WHEN p.tried THEN NULL ELSE $14 END, p.domain
    FROM sampled p LEFT JOIN zones z ON z.name = p.tz
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT max(contact_id) FROM picked) AS last, (SELECT count(*) FROM picked) AS picked,
       (SELECT count(*) FROM inserted) AS inserted
"""
AWAITING_WINNER = "awaiting the test's winner"
_WINNER = """
UPDATE broadcast_recipients SET variant = $3, due_at = $4, reason = NULL, updated_at = now()
WHERE workspace_id = $1 AND broadcast_id = $2 AND state = 'waiting' AND variant = ''
"""
# The sample's requested messages by variant, and how many of their contacts opened (people, not proxies)
# or clicked them: the engagement the scheduler keeps per contact for flows' conditions.
_TRIED = """
SELECT r.variant, count(*) AS trials,
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM contact_history h
           WHERE h.workspace_id = r.workspace_id AND h.contact_id = r.contact_id AND h.message_id = r.message_id
             AND h.type = $3 AND NOT h.machine
       )) AS successes
FROM broadcast_recipients r
WHERE r.workspace_id = $1 AND r.broadcast_id = $2 AND r.state = 'requested' AND r.variant <> ''
GROUP BY r.variant ORDER BY r.variant
"""
# The sample's requested messages by variant, and how many of them a purchase was credited to (the analytics
# fold's attribution: last click, else last open, within the workspace's windows).
_BOUGHT = """
SELECT r.variant, count(*) AS trials,
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM analytics_attributions a WHERE a.workspace_id = r.workspace_id AND a.message_id = r.message_id
       )) AS successes
FROM broadcast_recipients r
WHERE r.workspace_id = $1 AND r.broadcast_id = $2 AND r.state = 'requested' AND r.variant <> ''
GROUP BY r.variant ORDER BY r.variant
"""
_REVENUE = """
SELECT r.variant, a.currency, count(*) AS orders, sum(a.revenue) AS revenue
FROM broadcast_recipients r
JOIN analytics_attributions a ON a.workspace_id = r.workspace_id AND a.message_id = r.message_id
WHERE r.workspace_id = $1 AND r.broadcast_id = $2 AND r.state = 'requested' AND r.variant <> ''
GROUP BY r.variant, a.currency ORDER BY r.variant, a.currency
"""
_CLAIM = """
SELECT contact_id, variant, placed, domain FROM broadcast_recipients
WHERE workspace_id = $1 AND broadcast_id = $2 AND state = 'waiting' AND due_at <= $3
ORDER BY due_at, contact_id LIMIT $4
FOR UPDATE SKIP LOCKED
"""
# Requested in the last hour and the last minute, per receiving domain (the database's clock, which stamps
# `updated_at` when a recipient is settled as requested).
_LATELY = """
SELECT domain, count(*) AS hour, count(*) FILTER (WHERE updated_at > now() - interval '1 minute') AS minute
FROM broadcast_recipients
WHERE workspace_id = $1 AND broadcast_id = $2 AND state = 'requested' AND domain = ANY($3::text[])
  AND updated_at > now() - interval '1 hour'
GROUP BY domain
"""
_SETTLE = """
UPDATE broadcast_recipients r
SET state = x.state, reason = x.reason, due_at = COALESCE(x.due_at, r.due_at), placed = r.placed OR x.placed,
    message_id = COALESCE(x.message_id, r.message_id), updated_at = now()
FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bool[], $8::text[])
     AS x(contact_id, state, reason, due_at, placed, message_id)
WHERE r.workspace_id = $1 AND r.broadcast_id = $2 AND r.contact_id = x.contact_id
"""
_COUNTS = """
SELECT state, reason, count(*) AS n, max(due_at) FILTER (WHERE state = 'waiting' AND due_at < 'infinity') AS last_due
FROM broadcast_recipients WHERE workspace_id = $1 AND broadcast_id = $2 GROUP BY state, reason
"""
_ANY_WAITING = """
SELECT EXISTS (SELECT 1 FROM broadcast_recipients WHERE workspace_id = $1 AND broadcast_id = $2 AND state = 'waiting')
"""


@dataclass(frozen=True)
class Batch:
    last: str | None  # the keyset cursor after this batch
    picked: int
    inserted: int


@dataclass(frozen=True)
class LocalMoment:
    """A local schedule for SQL: `offset` after midnight of `day` in each contact's zone, else `fallback_zone`'s."""

    day: date
    offset: timedelta
    fallback_zone: str


def _source(audience: Audience) -> tuple[str, str]:
    if isinstance(audience, SegmentAudience):
        return _SOURCES["segment"], audience.segment
    if isinstance(audience, MarketingAudience):
        return _SOURCES["topic"], "*"
    return _SOURCES["topic"], audience.topic


async def resolve_batch(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, *, audience: Audience,
    exclude: Sequence[str], variants: Sequence[str], after: str | None, frozen_at: datetime, limit: int,
    due: datetime, local: LocalMoment | None, sample_percent: int | None = None,
) -> Batch:  # fmt: skip
    """Add the next `limit` audience members after contact id `after` as waiting recipients (with
    `sample_percent`, those outside the sample wait for the winner)."""
    source, key = _source(audience)
    row = await connection.fetchrow(
        _RESOLVE.format(source=source), workspace_id, broadcast_id, after or "", frozen_at, list(exclude), limit,
        list(variants), key, local.day if local else None, local.offset if local else None, due,
        local.fallback_zone if local else "UTC", sample_percent, AWAITING_WINNER,
    )  # fmt: skip
    assert row is not None
    return Batch(row["last"], row["picked"], row["inserted"])


@dataclass(frozen=True)
class Claimed:
    contact_id: str
    variant: str
    placed: bool
    domain: str | None = None  # of the address the message goes to


async def claim_due(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, now: datetime, limit: int
) -> list[Claimed]:
    """Up to `limit` waiting recipients due by `now`, locked for the caller's transaction."""
    if limit <= 0:
        return []
    rows = await connection.fetch(_CLAIM, workspace_id, broadcast_id, now, limit)
    return [Claimed(row["contact_id"], row["variant"], row["placed"], row["domain"]) for row in rows]


async def requested_lately(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, domains: Sequence[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Recipients requested per receiving domain in the last hour, and in the last minute."""
    if not domains:
        return {}, {}
    rows = await connection.fetch(_LATELY, workspace_id, broadcast_id, list(domains))
    return {row["domain"]: row["hour"] for row in rows}, {row["domain"]: row["minute"] for row in rows}


@dataclass(frozen=True)
class Outcome:
    """What became of a claimed recipient: requested (with its message id), held (why), or waiting again."""

    contact_id: str
    state: str
    reason: str | None = None
    due_at: datetime | None = None
    placed: bool = False
    message_id: str | None = None


async def settle(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, outcomes: Sequence[Outcome]
) -> None:
    if not outcomes:
        return
    await connection.execute(
        _SETTLE, workspace_id, broadcast_id,
        [o.contact_id for o in outcomes], [o.state for o in outcomes], [o.reason for o in outcomes],
        [o.due_at for o in outcomes], [o.placed for o in outcomes], [o.message_id for o in outcomes],
    )  # fmt: skip


async def recipient_counts(
    executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, broadcast_id: str
) -> tuple[dict[tuple[str, str | None], int], datetime | None]:
    """Recipients by (state, reason), and the latest due time of those waiting."""
    rows = await executor.fetch(_COUNTS, workspace_id, broadcast_id)
    dues = [row["last_due"] for row in rows if row["last_due"] is not None]
    return {(row["state"], row["reason"]): row["n"] for row in rows}, max(dues, default=None)


async def any_waiting(connection: asyncpg.Connection, workspace_id: str, broadcast_id: str) -> bool:
    return bool(await connection.fetchval(_ANY_WAITING, workspace_id, broadcast_id))


async def hold_waiting(connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, reason: str) -> int:
    """Those still waiting are held with `reason` (a cancelled broadcast); returns how many."""
    status = await connection.execute(
        "UPDATE broadcast_recipients SET state = 'held', reason = $3, updated_at = now() "
        "WHERE workspace_id = $1 AND broadcast_id = $2 AND state = 'waiting'",
        workspace_id,
        broadcast_id,
        reason,
    )
    return int(status.split()[-1])


async def tried(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, event_type: str
) -> list[tuple[str, int, int]]:
    """(variant, messages requested, contacts who did `event_type` on theirs) of a test's sample."""
    rows = await connection.fetch(_TRIED, workspace_id, broadcast_id, event_type)
    return [(row["variant"], row["trials"], row["successes"]) for row in rows]


async def tried_purchases(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str
) -> list[tuple[str, int, int]]:
    """(variant, messages requested, messages a purchase was credited to) of a test's sample."""
    rows = await connection.fetch(_BOUGHT, workspace_id, broadcast_id)
    return [(row["variant"], row["trials"], row["successes"]) for row in rows]


async def sample_revenue(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str
) -> dict[str, dict[str, dict[str, str | int]]]:
    """By variant and currency: orders credited to the sample's messages and their revenue (as decimal text)."""
    found: dict[str, dict[str, dict[str, str | int]]] = {}
    for row in await connection.fetch(_REVENUE, workspace_id, broadcast_id):
        by_currency = found.setdefault(row["variant"], {})
        by_currency[row["currency"]] = {"orders": row["orders"], "revenue": str(row["revenue"])}
    return found


async def send_winner(
    connection: asyncpg.Connection, workspace_id: str, broadcast_id: str, winner: str, due: datetime
) -> int:
    """Those outside the sample get the winner, due at `due`; returns how many."""
    status = await connection.execute(_WINNER, workspace_id, broadcast_id, winner, due)
    return int(status.split()[-1])


# Per variant: requested, delivered (the sender's ledger says sent), opened by people, clicked.
_FUNNEL = """
SELECT r.variant, count(*) AS requested,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM send_ledger l WHERE l.message_id = r.message_id
                                      AND l.state = 'sent')) AS delivered,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contact_history h
                                      WHERE h.workspace_id = r.workspace_id AND h.contact_id = r.contact_id
                                        AND h.message_id = r.message_id AND h.type = 'message_opened'
                                        AND NOT h.machine)) AS opened,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contact_history h
                                      WHERE h.workspace_id = r.workspace_id AND h.contact_id = r.contact_id
                                        AND h.message_id = r.message_id AND h.type = 'message_clicked'
                                        AND NOT h.machine)) AS clicked
FROM broadcast_recipients r
WHERE r.workspace_id = $1 AND r.broadcast_id = $2 AND r.state = 'requested'
GROUP BY r.variant ORDER BY r.variant
"""


async def funnel(
    executor: asyncpg.Connection | asyncpg.Pool, workspace_id: str, broadcast_id: str
) -> dict[str, dict[str, int]]:
    """By variant (template): messages requested, delivered, opened by people and clicked."""
    rows = await executor.fetch(_FUNNEL, workspace_id, broadcast_id)
    return {row["variant"]: {k: row[k] for k in ("requested", "delivered", "opened", "clicked")} for row in rows}
