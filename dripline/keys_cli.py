"""`dripline keys create|list|revoke`: workspace API keys."""

from __future__ import annotations

import asyncio
from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from shared.db.url import database_url
from shared.settings import CommonSettings
from shared.workspaces import create_key, ensure_workspace, revoke_key

keys_app = typer.Typer(no_args_is_help=True)
console = Console()


async def _connect() -> asyncpg.Connection:
    return await asyncpg.connect(database_url(CommonSettings()))


@keys_app.command("create")
def create(
    workspace: Annotated[str, typer.Option(help="Workspace id; created when new.")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'webshop production'.")] = "default",
) -> None:
    """Mint a key. It is shown once; only its hash is stored."""

    async def go() -> str:
        connection = await _connect()
        try:
            await ensure_workspace(connection, workspace, workspace)
            return await create_key(connection, workspace, name)
        finally:
            await connection.close()

    key = asyncio.run(go())
    console.print(f"API key for workspace [bold]{workspace}[/bold] ({name}):")
    console.print(key, highlight=False)
    console.print("Store it now: Dripline keeps only its hash.", style="dim")


@keys_app.command("list")
def list_keys(workspace: Annotated[str | None, typer.Option(help="Only this workspace.")] = None) -> None:
    async def go() -> list[asyncpg.Record]:
        connection = await _connect()
        try:
            rows: list[asyncpg.Record] = await connection.fetch(
                "SELECT id, workspace_id, name, created_at, revoked_at FROM api_keys "
                "WHERE $1::text IS NULL OR workspace_id = $1 ORDER BY created_at",
                workspace,
            )
            return rows
        finally:
            await connection.close()

    table = Table("id", "workspace", "name", "created", "revoked")
    for row in asyncio.run(go()):
        revoked = f"{row['revoked_at']:%Y-%m-%d %H:%M}" if row["revoked_at"] else ""
        table.add_row(row["id"], row["workspace_id"], row["name"], f"{row['created_at']:%Y-%m-%d %H:%M}", revoked)
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: str) -> None:
    """Revoke a key by its id (from `dripline keys list`); requests with it get 403."""

    async def go() -> bool:
        connection = await _connect()
        try:
            return await revoke_key(connection, key_id)
        finally:
            await connection.close()

    if not asyncio.run(go()):
        console.print(f"No active key with id {key_id}.")
        raise typer.Exit(1)
    console.print(f"Revoked {key_id}.")
