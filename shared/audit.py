"""The audit log: every change made in the console or through the API, appended to a table and put on
`workspaces.audit` through the outbox, in the caller's transaction when it has one.

The table refuses updates and deletes (migration 0015_console), so what is written here stays.
"""

from __future__ import annotations

import getpass
import secrets
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from starlette.requests import Request

from shared.contract.audit import AuditEntry, Via
from shared.contract.topics import AUDIT
from shared.kafka.producer import OutgoingRecord
from shared.outbox import enqueue
from shared.workspaces import KeyCheck, hash_key

_INSERT = (
    "INSERT INTO audit_log (event_id, workspace_id, at, actor, via, action, target, detail) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)"
)
# Console users are named by id in the log; their email is looked up when the log is read, so a page
# shows who it was while the log itself holds no address.
_RECENT = """
SELECT a.id, a.event_id, a.workspace_id, a.at, a.actor, a.via, a.action, a.target, a.detail,
       who.email AS actor_email, whom.email AS target_email
  FROM audit_log a
  LEFT JOIN console_users who ON a.actor = 'user:' || who.id
  LEFT JOIN console_users whom ON a.action LIKE 'user.%' AND whom.id = a.target
 WHERE a.workspace_id = $1 AND ($2::bigint IS NULL OR a.id < $2) AND ($3::text IS NULL OR a.target = $3)
 ORDER BY a.id DESC LIMIT $4
"""


async def record_change(
    connection: asyncpg.Connection,
    workspace_id: str,
    *,
    actor: str,
    via: Via,
    action: str,
    target: str,
    detail: Mapping[str, object] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one entry (row and outgoing record together: both or neither)."""
    entry = AuditEntry(
        event_id=f"audit-{secrets.token_hex(12)}",
        workspace_id=workspace_id,
        at=now or datetime.now(UTC),
        actor=actor,
        via=via,
        action=action,
        target=target,
        detail={key: str(value) for key, value in (detail or {}).items()},
    )
    async with connection.transaction():  # a savepoint inside the caller's transaction
        await connection.execute(
            _INSERT,
            entry.event_id,
            workspace_id,
            entry.at,
            actor,
            via,
            action,
            target,
            orjson.dumps(entry.detail).decode(),
        )
        await enqueue(connection, [OutgoingRecord.of(AUDIT, entry)])
    return entry


def user_actor(user_id: str) -> str:
    """A console user, by id: their email may change or be forgotten, the log stays as written."""
    return f"user:{user_id}"


def api_actor(request: Request) -> str:
    """The API key a route was called with, by its id (never the key)."""
    check: KeyCheck | None = getattr(request.state, "api_key", None)
    return f"key:{check.key_id if check else 'unknown'}"


def cli_actor() -> str:
    """The operator's login on the machine running the `dripline` command."""
    return f"cli:{getpass.getuser()}"


async def record_api_change(request: Request, workspace_id: str, action: str, target: str, **detail: object) -> None:
    """For a route: the change its API key made."""
    pool: asyncpg.Pool = request.app.state.resources.pool
    async with pool.acquire() as connection:
        await record_change(
            connection, workspace_id, actor=api_actor(request), via="api", action=action, target=target, detail=detail
        )


async def record_cli_change(
    connection: asyncpg.Connection, workspace_id: str, action: str, target: str, **detail: object
) -> None:
    """A change made with the `dripline` command, under the operator's login."""
    await record_change(
        connection, workspace_id, actor=cli_actor(), via="cli", action=action, target=target, detail=detail
    )


async def record_key_created(connection: asyncpg.Connection, workspace_id: str, key: str, **detail: object) -> None:
    """`dripline keys create|rotate`: the new key's id, never the key."""
    key_id = await connection.fetchval("SELECT id FROM api_keys WHERE key_hash = $1", hash_key(key))
    await record_cli_change(connection, workspace_id, "key.created", str(key_id), **detail)


async def recent_changes(
    connection: asyncpg.Connection | asyncpg.Pool,
    workspace_id: str,
    *,
    before: int | None = None,
    target: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The workspace's newest entries first (`before` an entry id, for the next page)."""
    rows = await connection.fetch(_RECENT, workspace_id, before, target, limit)
    return [{**dict(row), "detail": orjson.loads(row["detail"])} for row in rows]


# Entries of one action after an id, but those already read, oldest first: a forward scan of the primary key
# from near its end.
_ACTION_SINCE = (
    "SELECT id, workspace_id, target FROM audit_log WHERE id > $1 AND action = $2 AND id <> ALL($3::bigint[]) "
    "ORDER BY id LIMIT $4"
)


async def last_entry_id(executor: asyncpg.Pool | asyncpg.Connection) -> int:
    """The newest entry's id (0 for an empty log): where a reader that starts now begins."""
    found = await executor.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
    return int(found)


async def entries_since(
    executor: asyncpg.Pool | asyncpg.Connection,
    after_id: int,
    action: str,
    *,
    besides: Collection[int] = (),
    limit: int = 5000,
) -> list[tuple[int, str, str]]:
    """(id, workspace, target) of the entries of `action` after `after_id`, leaving out the ids `besides`."""
    rows = await executor.fetch(_ACTION_SINCE, after_id, action, list(besides), limit)
    return [(row["id"], row["workspace_id"], row["target"]) for row in rows]
