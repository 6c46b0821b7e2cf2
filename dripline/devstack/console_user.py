"""The local stack's console user: an admin of the demo workspace with a fresh password each run."""

from __future__ import annotations

import asyncpg

from shared.console_users import new_password, save_user

DEMO_CONSOLE_EMAIL = "admin@dripline.local"


async def seed_console_admin(connection: asyncpg.Connection, workspace_id: str) -> tuple[str, str]:
    """(email, password) to print: the password is new every run and stored only as its argon2 hash."""
    password = new_password()
    await save_user(connection, DEMO_CONSOLE_EMAIL, password, workspace_id, "admin")
    return DEMO_CONSOLE_EMAIL, password
