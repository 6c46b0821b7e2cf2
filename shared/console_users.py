"""Console users: people who sign in to the scheduler's console with an email and a password, each with
a role per workspace (viewer < editor < admin). Passwords are stored as argon2id hashes only.

`dripline users` manages them; the console signs them in (`services/scheduler/console`).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from functools import cache
from typing import Literal

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["viewer", "editor", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")  # each may do what the ones before it may
MIN_PASSWORD = 12
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email costs the same time as a wrong password.

    Made on first use: a hash costs a quarter second, which every CLI command and service start would pay."""
    return _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    user_id: str
    email: str
    roles: dict[str, Role]  # workspace id -> role


def allows(role: Role, needed: Role) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


def checked_role(role: str) -> Role:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def new_password() -> str:
    return secrets.token_urlsafe(15)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def save_user(
    connection: asyncpg.Connection, email: str, password: str | None, workspace_id: str, role: Role
) -> tuple[str, bool]:
    """Create the user (a password is then required) or give an existing one this role in the workspace;
    a password given for an existing user replaces theirs. Returns (user id, created)."""
    email = email.strip().lower()
    hashed = await asyncio.to_thread(hash_password, password) if password is not None else None
    async with connection.transaction():
        user_id = await connection.fetchval("SELECT id FROM console_users WHERE email = $1 FOR UPDATE", email)
        created = user_id is None
        if created:
            if hashed is None:
                raise ValueError(f"{email} is a new user: give a password")
            user_id = secrets.token_hex(8)
            await connection.execute(
                "INSERT INTO console_users (id, email, password_hash) VALUES ($1, $2, $3)", user_id, email, hashed
            )
        elif hashed is not None:
            await connection.execute("UPDATE console_users SET password_hash = $2 WHERE id = $1", user_id, hashed)
        await connection.execute(
            "INSERT INTO console_memberships (user_id, workspace_id, role) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id, workspace_id) DO UPDATE SET role = excluded.role",
            user_id,
            workspace_id,
            role,
        )
    return str(user_id), created


async def list_users(connection: asyncpg.Connection, workspace_id: str | None = None) -> list[asyncpg.Record]:
    return list(
        await connection.fetch(
            "SELECT u.email, m.workspace_id, m.role, u.created_at, u.disabled_at FROM console_users u "
            "JOIN console_memberships m ON m.user_id = u.id WHERE $1::text IS NULL OR m.workspace_id = $1 "
            "ORDER BY m.workspace_id, u.email",
            workspace_id,
        )
    )


async def disable_user(connection: asyncpg.Connection, email: str) -> str | None:
    """The user can no longer sign in, and their sessions end now. Their id, or None when no enabled user
    has that email."""
    async with connection.transaction():
        user_id = await connection.fetchval(
            "UPDATE console_users SET disabled_at = now() WHERE email = $1 AND disabled_at IS NULL RETURNING id",
            email.strip().lower(),
        )
        if user_id is not None:
            await connection.execute("DELETE FROM console_sessions WHERE user_id = $1", user_id)
    return str(user_id) if user_id is not None else None


async def authenticate(connection: asyncpg.Connection | asyncpg.Pool, email: str, password: str) -> ConsoleUser | None:
    """The user when the email and password match an enabled user with a workspace; else None."""
    row = await connection.fetchrow(
        "SELECT id, email, password_hash FROM console_users WHERE email = $1 AND disabled_at IS NULL",
        email.strip().lower(),
    )
    matched = await asyncio.to_thread(_verify, row["password_hash"] if row else None, password)
    if row is None or not matched:
        return None
    if _HASHER.check_needs_rehash(row["password_hash"]):
        rehashed = await asyncio.to_thread(_HASHER.hash, password)
        await connection.execute("UPDATE console_users SET password_hash = $2 WHERE id = $1", row["id"], rehashed)
    user = await user_by_id(connection, row["id"])
    return user if user and user.roles else None


async def user_by_id(connection: asyncpg.Connection | asyncpg.Pool, user_id: str) -> ConsoleUser | None:
    rows = await connection.fetch(
        "SELECT u.email, m.workspace_id, m.role FROM console_users u "
        "LEFT JOIN console_memberships m ON m.user_id = u.id WHERE u.id = $1 AND u.disabled_at IS NULL "
        "ORDER BY m.workspace_id",
        user_id,
    )
    if not rows:
        return None
    roles = {row["workspace_id"]: checked_role(row["role"]) for row in rows if row["workspace_id"]}
    return ConsoleUser(user_id, rows[0]["email"], roles)


async def role_in(connection: asyncpg.Connection | asyncpg.Pool, user_id: str, workspace_id: str) -> Role | None:
    """The user's role in the workspace, or None when they have none there."""
    role = await connection.fetchval(
        "SELECT role FROM console_memberships WHERE user_id = $1 AND workspace_id = $2", user_id, workspace_id
    )
    return checked_role(role) if role else None


async def set_role(connection: asyncpg.Connection, user_id: str, workspace_id: str, role: Role) -> None:
    await connection.execute(
        "UPDATE console_memberships SET role = $3 WHERE user_id = $1 AND workspace_id = $2", user_id, workspace_id, role
    )


async def remove_from_workspace(connection: asyncpg.Connection, user_id: str, workspace_id: str) -> bool:
    """Take the user's role in one workspace away and end their sessions there; a user left with no
    workspace is disabled. Whether the account was disabled."""
    async with connection.transaction():
        await connection.execute(
            "DELETE FROM console_memberships WHERE user_id = $1 AND workspace_id = $2", user_id, workspace_id
        )
        await connection.execute(
            "DELETE FROM console_sessions WHERE user_id = $1 AND workspace_id = $2", user_id, workspace_id
        )
        if await connection.fetchval("SELECT 1 FROM console_memberships WHERE user_id = $1", user_id):
            return False
        await connection.execute(
            "UPDATE console_users SET disabled_at = now() WHERE id = $1 AND disabled_at IS NULL", user_id
        )
        await connection.execute("DELETE FROM console_sessions WHERE user_id = $1", user_id)
    return True


async def workspace_users(connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str) -> list[asyncpg.Record]:
    """Who has a role in the workspace, with their ids (for the console's user page)."""
    return list(
        await connection.fetch(
            "SELECT u.id, u.email, m.role, u.created_at, u.disabled_at FROM console_users u "
            "JOIN console_memberships m ON m.user_id = u.id WHERE m.workspace_id = $1 ORDER BY u.email",
            workspace_id,
        )
    )


async def has_account(connection: asyncpg.Connection | asyncpg.Pool, email: str) -> bool:
    return bool(await connection.fetchval("SELECT 1 FROM console_users WHERE email = $1", email.strip().lower()))
