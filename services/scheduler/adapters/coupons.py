"""Discount codes in PostgreSQL: pools imported per workspace, and the code each send step issued.

An issue is keyed by (workspace, enrollment, step, contact): the first request stores it, a retry or a
replayed request reads it back, and two requests racing for the same key both end with the winner's code
(the loser's insert waits for the winner's commit, then reads its row). A pool code is drawn by one
statement that skips rows other draws hold, so two contacts never get the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.scheduler.domain.coupons import Coupon, CouponRule, generated

_EXISTING = """
SELECT code, expires_at, pool FROM coupon_issues
WHERE workspace_id = $1 AND enrollment_id = $2 AND step_id = $3 AND contact_id = $4
"""
_DRAW = """
UPDATE coupon_codes SET issued = true
WHERE (workspace_id, pool, code) = (
    SELECT workspace_id, pool, code FROM coupon_codes
    WHERE workspace_id = $1 AND pool = $2 AND NOT issued AND (expires_at IS NULL OR expires_at > $3)
    ORDER BY code LIMIT 1 FOR UPDATE SKIP LOCKED
)
RETURNING code, expires_at
"""
_RELEASE = "UPDATE coupon_codes SET issued = false WHERE workspace_id = $1 AND pool = $2 AND code = $3"
_ISSUE = """
INSERT INTO coupon_issues (workspace_id, enrollment_id, step_id, contact_id, flow_id, code, pool, expires_at, issued_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT DO NOTHING RETURNING code
"""
_IMPORT = """
INSERT INTO coupon_codes (workspace_id, pool, code, expires_at)
SELECT $1, $2, * FROM unnest($3::text[], $4::timestamptz[])
ON CONFLICT DO NOTHING
"""
_REDEEM = """
UPDATE coupon_issues SET redeemed_at = $3, redeemed_by = $4, redeemed_event_id = $5
WHERE workspace_id = $1 AND code = ANY($2::text[]) AND redeemed_at IS NULL
"""
_POOLS = """
SELECT pool, count(*) AS total, count(*) FILTER (WHERE NOT issued) AS left
FROM coupon_codes WHERE workspace_id = $1 GROUP BY pool ORDER BY pool
"""
_ATTEMPTS = 5  # a generated code colliding with an issued one is rare; five in a row is a broken random source


@dataclass(frozen=True, slots=True)
class IssueKey:
    workspace_id: str
    enrollment_id: str
    step_id: str
    contact_id: str
    flow_id: str


@dataclass(frozen=True, slots=True)
class PoolCount:
    pool: str
    total: int
    left: int


def _coupon(row: asyncpg.Record) -> Coupon:
    return Coupon(code=row["code"], expires_at=row["expires_at"], pool=row["pool"])


async def issue_coupon(
    connection: asyncpg.Connection,
    key: IssueKey,
    rule: CouponRule,
    now: datetime,
    choose: Callable[[str], str] | None = None,
) -> Coupon | None:
    """The step's code for this contact: the one already issued, else a new one; None when the pool is empty."""
    where = (key.workspace_id, key.enrollment_id, key.step_id, key.contact_id)
    existing = await connection.fetchrow(_EXISTING, *where)
    if existing is not None:
        return _coupon(existing)
    if rule.from_step is not None:  # a reminder shows the code its step gave; it issues none of its own
        earlier = await connection.fetchrow(
            _EXISTING, key.workspace_id, key.enrollment_id, rule.from_step, key.contact_id
        )
        return None if earlier is None else _coupon(earlier)
    for _ in range(_ATTEMPTS):
        if rule.pool is not None:
            drawn = await connection.fetchrow(_DRAW, key.workspace_id, rule.pool, now)  # an expired code is left
            if drawn is None:
                return None
            candidate = Coupon(code=drawn["code"], expires_at=drawn["expires_at"], pool=rule.pool)
        else:
            assert rule.generate is not None  # the rule's validator: exactly one source
            candidate = generated(rule.generate, now) if choose is None else generated(rule.generate, now, choose)
        stored = await connection.fetchval(
            _ISSUE, *where, key.flow_id, candidate.code, candidate.pool, candidate.expires_at, now
        )
        if stored is not None:
            return candidate
        existing = await connection.fetchrow(_EXISTING, *where)
        if existing is not None:  # a concurrent request for the same step won: its code, and ours goes back
            if candidate.pool is not None:
                await connection.execute(_RELEASE, key.workspace_id, candidate.pool, candidate.code)
            return _coupon(existing)
    raise RuntimeError(f"no unique coupon code after {_ATTEMPTS} attempts ({rule.source})")


async def import_codes(
    connection: asyncpg.Connection, workspace_id: str, pool: str, codes: Sequence[tuple[str, datetime | None]]
) -> int:
    """Add codes to a workspace's pool; codes already in it are left as they are. Returns how many were new."""
    status = await connection.execute(
        _IMPORT, workspace_id, pool, [code for code, _ in codes], [expires for _, expires in codes]
    )
    return int(status.split()[-1])


async def pool_counts(connection: asyncpg.Connection, workspace_id: str) -> list[PoolCount]:
    rows = await connection.fetch(_POOLS, workspace_id)
    return [PoolCount(row["pool"], row["total"], row["left"]) for row in rows]


async def record_redemptions(
    connection: asyncpg.Connection, redemptions: Sequence[tuple[str, str, str, datetime, tuple[str, ...]]]
) -> None:
    """Mark codes named by purchases redeemed: (workspace, contact, event id, time, codes). A replay changes nothing."""
    for workspace_id, contact_id, event_id, at, codes in redemptions:
        if codes:
            await connection.execute(_REDEEM, workspace_id, list(codes), at, contact_id, event_id)


_ISSUED = """
SELECT flow_id, step_id, count(*) AS issued, count(redeemed_at) AS redeemed FROM coupon_issues
WHERE workspace_id = $1 AND ($2::text IS NULL OR flow_id = $2) GROUP BY flow_id, step_id ORDER BY flow_id, step_id
"""


@dataclass(frozen=True, slots=True)
class IssuedCount:
    flow_id: str
    step_id: str
    issued: int
    redeemed: int


async def issued_counts(
    connection: asyncpg.Connection, workspace_id: str, flow_id: str | None = None
) -> list[IssuedCount]:
    """Codes issued and redeemed per flow step of a workspace."""
    rows = await connection.fetch(_ISSUED, workspace_id, flow_id)
    return [IssuedCount(row["flow_id"], row["step_id"], row["issued"], row["redeemed"]) for row in rows]
