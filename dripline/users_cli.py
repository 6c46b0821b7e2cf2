"""`dripline users create|list|disable`: people who sign in to the console, and their role per workspace."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from dripline.keys_cli import _run
from shared.audit import record_cli_change
from shared.console_users import MIN_PASSWORD, ROLES, checked_role, disable_user, list_users, new_password, save_user

users_app = typer.Typer(no_args_is_help=True)
console = Console()


@users_app.command("create")
def create(
    email: Annotated[str, typer.Option(help="The person's email: what they sign in with.")],
    workspace: Annotated[str, typer.Option(help="The workspace they get a role in (it must exist).")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")] = "viewer",
    password: Annotated[
        str | None,
        typer.Option(help=f"At least {MIN_PASSWORD} characters. Unset: a new user gets a generated one, shown once."),
    ] = None,
) -> None:
    """Add a console user, or give an existing one a role in another workspace (or a new password)."""
    try:
        wanted = checked_role(role)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--role") from error

    async def work(connection: asyncpg.Connection) -> tuple[bool, str | None]:
        if not await connection.fetchval("SELECT 1 FROM workspaces WHERE id = $1", workspace):
            raise ValueError(f"no workspace {workspace!r}")
        existing = await connection.fetchval("SELECT 1 FROM console_users WHERE email = $1", email.strip().lower())
        chosen = password if password is not None or existing else new_password()
        user_id, created = await save_user(connection, email, chosen, workspace, wanted)
        await record_cli_change(connection, workspace, "user.created" if created else "user.role_set",
                                user_id, role=wanted)  # fmt: skip
        return created, chosen if password is None else None

    try:
        created, shown = _run(work)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    verb = "Created" if created else "Updated"
    console.print(f"{verb} {email} as {wanted} of [bold]{workspace}[/bold].")
    if shown:
        console.print("Password (shown once, stored only as an argon2 hash):")
        console.print(shown, highlight=False)


@users_app.command("list")
def list_(workspace: Annotated[str | None, typer.Option(help="Only this workspace.")] = None) -> None:
    table = Table("email", "workspace", "role", "created", "disabled")
    for row in _run(lambda connection: list_users(connection, workspace)):
        disabled = f"{row['disabled_at']:%Y-%m-%d %H:%M}" if row["disabled_at"] else ""
        table.add_row(row["email"], row["workspace_id"], row["role"], f"{row['created_at']:%Y-%m-%d %H:%M}", disabled)
    console.print(table)


@users_app.command("disable")
def disable(email: str) -> None:
    """The user can no longer sign in; their open sessions end at once."""

    async def work(connection: asyncpg.Connection) -> bool:
        workspaces = [row["workspace_id"] for row in await list_users(connection) if row["email"] == email.lower()]
        user_id = await disable_user(connection, email)
        if user_id is None:
            return False
        for workspace in workspaces:
            await record_cli_change(connection, workspace, "user.disabled", user_id)
        return True

    if not _run(work):
        console.print(f"No enabled console user {email}.")
        raise typer.Exit(1)
    console.print(f"Disabled {email}; their sessions have ended.")
