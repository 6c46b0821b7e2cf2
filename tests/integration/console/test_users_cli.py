"""`dripline users` and `dripline keys` on the real database: console users with a role per workspace, shown
passwords only once, disabling ending sessions, and every change in the audit log; the migration goes both ways."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, datetime

import asyncpg
import pytest
from typer.testing import CliRunner

from dripline.cli import app as cli
from services.scheduler.adapters.console_sessions import load_session, open_session
from shared.audit import recent_changes
from shared.console_users import authenticate
from shared.workspaces import ensure_workspace
from tests.support.stack import RealStack, own_database

pytestmark = pytest.mark.stack


async def _run(*args: str) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
async def workspace(stack: RealStack, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    monkeypatch.setenv("COLUMNS", "200")
    workspace_id = f"users-{secrets.token_hex(3)}"
    connection = await asyncpg.connect(stack.database_url)
    try:
        await ensure_workspace(connection, workspace_id, "Users shop")
    finally:
        await connection.close()
    return workspace_id


async def test_users_get_a_password_once_a_role_per_workspace_and_disabling_ends_their_sessions(
    stack: RealStack, workspace: str
) -> None:
    email = f"Ana.{secrets.token_hex(3)}@Shop.example"
    created = await _run("users", "create", "--email", email, "--workspace", workspace, "--role", "editor")
    password = created.strip().splitlines()[-1]
    assert "Created" in created and len(password) >= 12
    again = await _run("users", "create", "--email", email.lower(), "--workspace", workspace, "--role", "admin")
    assert "Updated" in again and "Password" not in again  # an existing user keeps their password
    listing = await _run("users", "list", "--workspace", workspace)
    assert re.search(rf"{re.escape(email.lower())}\s+.*{workspace}\s+.*admin", listing), listing

    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    assert pool is not None
    try:
        user = await authenticate(pool, email, password)
        assert user is not None and user.roles == {workspace: "admin"}
        assert await authenticate(pool, email, password[:-1] + "?") is None
        now = datetime.now(UTC)
        token = await open_session(pool, user.user_id, workspace, now)
        assert await load_session(pool, token, now) is not None
        assert "Disabled" in await _run("users", "disable", email)
        assert await load_session(pool, token, now) is None
        assert await authenticate(pool, email, password) is None
        entries = await recent_changes(pool, workspace)
    finally:
        await pool.close()
    assert [(e["action"], e["target"], e["via"]) for e in entries] == [
        ("user.disabled", user.user_id, "cli"),
        ("user.role_set", user.user_id, "cli"),
        ("user.created", user.user_id, "cli"),
    ]  # by id in the log; read back with the email beside it
    assert {e["target_email"] for e in entries} == {email.lower()}
    assert email.lower() not in str([(e["actor"], e["target"], e["detail"]) for e in entries])
    assert all(e["actor"].startswith("cli:") for e in entries)
    assert password not in str(entries)


async def test_a_user_needs_a_known_workspace_and_role(workspace: str) -> None:
    for args in (["--workspace", "no-such-shop"], ["--workspace", workspace, "--role", "owner"]):
        command = ["users", "create", "--email", "x@shop.example", *args]
        result = await asyncio.to_thread(CliRunner().invoke, cli, command)
        assert result.exit_code == 2, result.output


async def test_creating_and_rotating_a_key_is_in_the_audit_log_by_its_id_never_the_key(
    stack: RealStack, workspace: str
) -> None:
    created = await _run("keys", "create", "--workspace", workspace, "--name", "webshop")
    [key] = re.findall(r"dl_\S+", created)
    connection = await asyncpg.connect(stack.database_url)
    try:
        key_id = await connection.fetchval("SELECT id FROM api_keys WHERE workspace_id = $1", workspace)
        await _run("keys", "rotate", key_id)
        entries = await recent_changes(connection, workspace)
    finally:
        await connection.close()
    assert [e["action"] for e in entries] == ["key.created", "key.created"]
    assert entries[1]["target"] == key_id and entries[1]["detail"] == {"name": "webshop", "scopes": "events:write"}
    assert entries[0]["detail"]["rotated_from"] == key_id and entries[0]["target"] != key_id
    assert key not in str(entries)


async def test_the_console_migration_adds_its_tables_and_takes_them_away(stack: RealStack) -> None:
    tables = (
        "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'console\\_%' OR table_name = 'audit_log'"
    )
    async with own_database(stack, "console", "0001") as database:
        assert await database.connection.fetchval(tables) == 0
        await database.upgrade("0015_console")
        assert await database.connection.fetchval(tables) == 4
        await database.downgrade("0015_console-1")
        assert await database.connection.fetchval(tables) == 0
        assert await database.connection.fetchval("SELECT to_regproc('audit_log_append_only')") is None
