"""`dripline keys create|list|revoke|rotate|limit`: workspace API keys, their scopes and rate limits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from shared.audit import record_key_created
from shared.db.url import database_url
from shared.rate_limits import RateLimit
from shared.settings import CommonSettings
from shared.workspaces import (
    DEFAULT_LIMIT,
    DEFAULT_SCOPES,
    SCOPES,
    checked_scopes,
    create_key,
    ensure_workspace,
    limit_key,
    revoke_key,
)

keys_app = typer.Typer(no_args_is_help=True)
console = Console()
T = TypeVar("T")

ScopeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        help=f"What the key may do; repeat for more. One of: {', '.join(SCOPES)}. "
        f"Default: {', '.join(DEFAULT_SCOPES)} (what a shop's server or website needs).",
    ),
]
RateOption = Annotated[float, typer.Option(help="Requests a second the key may make on average (per service replica).")]
BurstOption = Annotated[int, typer.Option(help="Requests the key may make at once before the rate applies.")]
NoLimitOption = Annotated[bool, typer.Option("--no-limit", help="No rate limit (for your own tools only).")]


def _run(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def go() -> T:
        connection = await asyncpg.connect(database_url(CommonSettings()))
        try:
            return await work(connection)
        finally:
            await connection.close()

    return asyncio.run(go())


def _limit(rate: float, burst: int, no_limit: bool) -> RateLimit | None:
    if no_limit:
        return None
    try:
        return RateLimit(rate, burst)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


def _scopes(scope: list[str] | None) -> tuple[str, ...]:
    try:
        return checked_scopes(scope or DEFAULT_SCOPES)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--scope") from error


def _describe(limit: RateLimit | None) -> str:
    return f"{limit.per_second:g}/s, bursts of {limit.burst}" if limit else "none"


@keys_app.command("create")
def create(
    workspace: Annotated[str, typer.Option(help="Workspace id; created when new.")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'webshop production'.")] = "default",
    scope: ScopeOption = None,
    rate: RateOption = DEFAULT_LIMIT.per_second,
    burst: BurstOption = DEFAULT_LIMIT.burst,
    no_limit: NoLimitOption = False,
) -> None:
    """Mint a key. It is shown once; only its hash is stored."""
    scopes, limit = _scopes(scope), _limit(rate, burst, no_limit)

    async def work(connection: asyncpg.Connection) -> str:
        await ensure_workspace(connection, workspace, workspace)
        key = await create_key(connection, workspace, name, scopes=scopes, limit=limit)
        await record_key_created(connection, workspace, key, name=name, scopes=" ".join(scopes))
        return key

    try:
        key = _run(work)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--workspace") from error
    console.print(f"API key for workspace [bold]{workspace}[/bold] ({name}):")
    console.print(key, highlight=False)
    console.print(f"Scopes: {', '.join(scopes)}. Rate limit: {_describe(limit)}.", highlight=False)
    if not scope:
        console.print(
            "Without --scope a key may only post events and identify contacts (events:write): enough for a "
            "shop's server or website. Add --scope for more, e.g. --scope flows:write --scope templates:write; "
            "--scope admin for everything.",
            style="dim",
        )
    console.print("Store it now: Dripline keeps only its hash.", style="dim")


@keys_app.command("list")
def list_keys(workspace: Annotated[str | None, typer.Option(help="Only this workspace.")] = None) -> None:
    async def work(connection: asyncpg.Connection) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await connection.fetch(
            "SELECT id, workspace_id, name, scopes, rate_per_second, burst, created_at, revoked_at FROM api_keys "
            "WHERE $1::text IS NULL OR workspace_id = $1 ORDER BY created_at",
            workspace,
        )
        return rows

    table = Table("id", "workspace", "name", "scopes", "rate limit", "created", "revoked")
    for row in _run(work):
        revoked = f"{row['revoked_at']:%Y-%m-%d %H:%M}" if row["revoked_at"] else ""
        limit = RateLimit(row["rate_per_second"], row["burst"]) if row["rate_per_second"] is not None else None
        table.add_row(
            row["id"],
            row["workspace_id"],
            row["name"],
            " ".join(row["scopes"]),
            _describe(limit),
            f"{row['created_at']:%Y-%m-%d %H:%M}",
            revoked,
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: str) -> None:
    """Revoke a key by its id (from `dripline keys list`); requests with it get 403 within a minute."""
    if not _run(lambda connection: revoke_key(connection, key_id)):
        console.print(f"No active key with id {key_id}.")
        raise typer.Exit(1)
    console.print(f"Revoked {key_id}.")


@keys_app.command("rotate")
def rotate(key_id: str) -> None:
    """Mint a key like this one (workspace, name, scopes, limit); revoke the old one once nothing uses it."""

    async def work(connection: asyncpg.Connection) -> tuple[asyncpg.Record, str] | None:
        row = await connection.fetchrow(
            "SELECT workspace_id, name, scopes, rate_per_second, burst FROM api_keys "
            "WHERE id = $1 AND revoked_at IS NULL",
            key_id,
        )
        if row is None:
            return None
        limit = RateLimit(row["rate_per_second"], row["burst"]) if row["rate_per_second"] is not None else None
        key = await create_key(connection, row["workspace_id"], row["name"], scopes=row["scopes"], limit=limit)
        await record_key_created(connection, row["workspace_id"], key, name=row["name"], rotated_from=key_id)
        return row, key

    found = _run(work)
    if found is None:
        console.print(f"No active key with id {key_id}.")
        raise typer.Exit(1)
    row, key = found
    console.print(f"New API key for workspace [bold]{row['workspace_id']}[/bold] ({row['name']}):")
    console.print(key, highlight=False)
    console.print(f"Scopes: {', '.join(row['scopes'])}.", highlight=False)
    console.print("Both keys work now. Once the new one is in use everywhere, revoke the old one:", style="dim")
    console.print(f"dripline keys revoke {key_id}", highlight=False)


@keys_app.command("limit")
def limit(
    key_id: str,
    rate: RateOption = DEFAULT_LIMIT.per_second,
    burst: BurstOption = DEFAULT_LIMIT.burst,
    no_limit: NoLimitOption = False,
) -> None:
    """Change a key's rate limit; the services apply it within a minute."""
    wanted = _limit(rate, burst, no_limit)
    if not _run(lambda connection: limit_key(connection, key_id, wanted)):
        console.print(f"No active key with id {key_id}.")
        raise typer.Exit(1)
    console.print(f"Rate limit of {key_id}: {_describe(wanted)}.")
