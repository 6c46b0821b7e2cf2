"""Console sessions, held server-side: the browser keeps a random token in an HttpOnly cookie, the table
keeps its SHA-256 (a copy of the table signs no one in) with the user, the workspace and the CSRF token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from shared.audit import user_actor
from shared.console_users import Role, checked_role

LIFETIME = timedelta(hours=12)

_LOAD = """
SELECT s.user_id, u.email, s.workspace_id, m.role, s.csrf_token,
       array(SELECT workspace_id FROM console_memberships WHERE user_id = s.user_id ORDER BY 1) AS workspaces
  FROM console_sessions s
  JOIN console_users u ON u.id = s.user_id AND u.disabled_at IS NULL
  JOIN console_memberships m ON m.user_id = s.user_id AND m.workspace_id = s.workspace_id
 WHERE s.token_hash = $1 AND s.expires_at > $2
"""


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    user_id: str
    email: str
    workspace_id: str
    role: Role
    csrf_token: str
    workspaces: tuple[str, ...]  # every workspace the user has a role in

    @property
    def actor(self) -> str:
        return user_actor(self.user_id)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def open_session(pool: asyncpg.Pool, user_id: str, workspace_id: str, now: datetime) -> str:
    """A new session's token (for the cookie); expired sessions are swept on the way."""
    token = secrets.token_urlsafe(32)
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("DELETE FROM console_sessions WHERE expires_at <= $1", now)
        await connection.execute(
            "INSERT INTO console_sessions (token_hash, user_id, workspace_id, csrf_token, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            _digest(token), user_id, workspace_id, secrets.token_urlsafe(32), now, now + LIFETIME,
        )  # fmt: skip
    return token


async def load_session(pool: asyncpg.Pool, token: str | None, now: datetime) -> ConsoleSession | None:
    """The live session of an enabled user who still has a role in its workspace; else None."""
    if not token:
        return None
    row = await pool.fetchrow(_LOAD, _digest(token), now)
    if row is None:
        return None
    return ConsoleSession(
        row["user_id"],
        row["email"],
        row["workspace_id"],
        checked_role(row["role"]),
        row["csrf_token"],
        tuple(row["workspaces"]),
    )


async def switch_workspace(pool: asyncpg.Pool, token: str, workspace_id: str) -> None:
    await pool.execute(
        "UPDATE console_sessions SET workspace_id = $2 WHERE token_hash = $1", _digest(token), workspace_id
    )


async def close_session(pool: asyncpg.Pool, token: str | None) -> None:
    if token:
        await pool.execute("DELETE FROM console_sessions WHERE token_hash = $1", _digest(token))
