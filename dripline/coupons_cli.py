"""`dripline coupons`: import a pool of discount codes, list pools, and count codes issued and redeemed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from dripline.report_cli import with_pool
from services.scheduler.adapters.coupons import PoolCount, import_codes, issued_counts, pool_counts
from services.scheduler.domain.coupons import POOL_PATTERN, chunks, read_pool_file

coupons_app = typer.Typer(
    help="Discount codes: import pools, list them, count issued and redeemed.", no_args_is_help=True
)
console = Console()
WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Workspace id")]
BATCH = 1000


def _pools_table(workspace: str, pools: list[PoolCount]) -> Table:
    table = Table("pool", "codes", "issued", "left", title=f"Coupon pools of {workspace}")
    for found in pools:
        table.add_row(found.pool, str(found.total), str(found.total - found.left), str(found.left))
    return table


@coupons_app.command("import")
def import_pool(
    pool: Annotated[str, typer.Argument(help="The pool's name, as flows name it (coupon: {pool: NAME})")],
    path: Annotated[Path, typer.Argument(help="A CSV with a code column (optionally expires_at), or one code a line")],
    workspace: WorkspaceOption = "demo",
) -> None:
    """Add a file's codes to a pool of the workspace; codes already in the pool are kept as they are."""
    if not re.match(POOL_PATTERN, pool):
        raise typer.BadParameter("a pool name is lower-case letters, digits, - and _", param_hint="POOL")
    try:
        parsed = read_pool_file(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        console.print(f"[red]{path}: {error.strerror}[/red]")
        raise typer.Exit(1) from error
    for line, reason in parsed.problems:
        console.print(f"[red]{path}:{line}: {reason}[/red]", soft_wrap=True)
    if parsed.problems:
        raise typer.Exit(1)

    async def work(pool_: asyncpg.Pool) -> tuple[int, list[PoolCount]]:
        added = 0
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
            task = bar.add_task(f"Importing into {pool}", total=len(parsed.codes))
            for batch in chunks(parsed.codes, BATCH):
                async with pool_.acquire() as connection:
                    added += await import_codes(connection, workspace, pool, batch)
                bar.advance(task, len(batch))
        async with pool_.acquire() as connection:
            return added, await pool_counts(connection, workspace)

    added, pools = with_pool(work)
    console.print(_pools_table(workspace, [found for found in pools if found.pool == pool]))
    console.print(f"{added} new codes in {pool}, {len(parsed.codes) - added} already there.")


@coupons_app.command("pools")
def pools(workspace: WorkspaceOption = "demo") -> None:
    """The workspace's pools: codes imported, issued and left."""

    async def work(pool_: asyncpg.Pool) -> list[PoolCount]:
        async with pool_.acquire() as connection:
            return await pool_counts(connection, workspace)

    console.print(_pools_table(workspace, with_pool(work)))


@coupons_app.command("report")
def report(
    workspace: WorkspaceOption = "demo",
    flow_id: Annotated[str | None, typer.Option("--flow", help="Only this flow")] = None,
) -> None:
    """Codes issued and redeemed (named by a purchase's discount_codes), per flow step."""

    async def work(pool_: asyncpg.Pool) -> Table:
        async with pool_.acquire() as connection:
            rows = await issued_counts(connection, workspace, flow_id)
        table = Table("flow", "step", "issued", "redeemed", "redemption rate", title=f"Coupons of {workspace}")
        for row in rows:
            rate = f"{row.redeemed / row.issued:.1%}" if row.issued else "–"
            table.add_row(row.flow_id, row.step_id, str(row.issued), str(row.redeemed), rate)
        return table

    console.print(with_pool(work))
