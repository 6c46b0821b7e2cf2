"""`dripline contacts import|export|erase`: lists in, a person's data out, a person forgotten."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from shared.settings import IngestSettings

if TYPE_CHECKING:
    from services.ingest.domain.imports import ImportRow, RejectedRow
    from services.ingest.usecases.importer import ImportReport

contacts_app = typer.Typer(no_args_is_help=True)
console = Console()


@contacts_app.command("import")
def import_csv(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row.")],
    workspace: Annotated[str, typer.Option(help="Workspace to import into.")],
    consent_column: Annotated[str, typer.Option(help="Column saying the person agreed to marketing.")] = "consent",
    topics: Annotated[str, typer.Option(help="Subscription topics for consenting rows (comma-separated).")] = "",
    policy_version: Annotated[
        str | None, typer.Option(help="Privacy text version the consent was given under.")
    ] = None,
) -> None:
    """Identify every row; record consent (source `import`) only where the consent column says yes."""
    from services.ingest.domain.imports import parse_rows

    lines = max(sum(1 for _ in path.open(encoding="utf-8-sig")) - 1, 0)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = parse_rows(
            csv.DictReader(handle),
            consent_column=consent_column,
            default_topics=[topic.strip() for topic in topics.split(",") if topic.strip()],
        )
        report = asyncio.run(_import(workspace, list(rows), lines, policy_version))
    console.print(
        f"Imported {report.imported} contacts ({report.with_consent} with marketing consent); "
        f"{len(report.rejected)} rows rejected."
    )
    if report.rejected:
        table = Table("line", "reason", title="Rejected rows")
        for rejected in report.rejected:
            table.add_row(str(rejected.line), rejected.reason)
        console.print(table)
        raise typer.Exit(1)


async def _import(
    workspace: str, rows: list[ImportRow | RejectedRow], total: int, policy_version: str | None
) -> ImportReport:
    from services.ingest.usecases.importer import import_rows, new_batch_id
    from services.ingest.usecases.intake import Intake
    from shared.db.pool import create_pool
    from shared.kafka.producer import Producer

    settings = IngestSettings()
    pool = await create_pool(settings)
    producer = Producer(settings)
    await producer.start()
    try:
        with Progress(console=console) as progress:
            task = progress.add_task("Importing", total=total)
            return await import_rows(
                Intake(pool, producer, settings),
                pool,
                workspace,
                rows,
                batch_id=new_batch_id(),
                policy_version=policy_version,
                progress=lambda: progress.advance(task),
            )
    finally:
        await producer.stop()
        await pool.close()


@contacts_app.command("export")
def export(
    workspace: Annotated[str, typer.Option()],
    contact_id: Annotated[str | None, typer.Argument(help="The contact; leave out with --all.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every contact of the workspace, one JSON line each.")] = False,
) -> None:
    """Print everything held about a contact as one JSON document, or with --all every contact as JSON lines
    (progress on stderr)."""
    if (contact_id is None) == (not every):
        raise typer.BadParameter("name a contact id, or give --all")
    if every:
        asyncio.run(_export_all(workspace))
        return
    assert contact_id is not None
    document = asyncio.run(_export_one(workspace, contact_id))
    if document is None:
        Console(stderr=True).print(f"Workspace {workspace} holds nothing about contact {contact_id}.", style="red")
        raise typer.Exit(1)
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


async def _export_one(workspace: str, contact_id: str) -> dict[str, object] | None:
    import asyncpg

    from shared.audit import cli_actor
    from shared.contact_rights import export_recorded
    from shared.db.url import database_url

    connection = await asyncpg.connect(database_url(IngestSettings()))
    try:
        return await export_recorded(connection, workspace, contact_id, actor=cli_actor(), via="cli")
    finally:
        await connection.close()


async def _export_all(workspace: str) -> None:
    import asyncpg

    from shared.contact_export import contact_count, export_workspace
    from shared.db.url import database_url

    connection = await asyncpg.connect(database_url(IngestSettings()))
    progress_console = Console(stderr=True)
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):  # one consistent picture
            total = await contact_count(connection, workspace)
            with Progress(console=progress_console) as progress:
                task = progress.add_task(f"Exporting {workspace}", total=total)
                async for document in export_workspace(connection, workspace):
                    sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
                    progress.advance(task)
        sys.stdout.flush()
        progress_console.print(f"Exported {total} contacts of {workspace}.")
    finally:
        await connection.close()


@contacts_app.command("erase")
def erase(
    contact_id: str,
    workspace: Annotated[str, typer.Option()],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a contact everywhere and publish the tombstone; only a hashed suppression remains."""
    if not yes:
        typer.confirm(f"Erase contact {contact_id} in {workspace}? This cannot be undone", abort=True)

    async def go() -> dict[str, int] | None:
        from services.ingest.usecases.intake import Intake
        from shared.audit import cli_actor
        from shared.db.pool import create_pool
        from shared.kafka.producer import Producer

        settings = IngestSettings()
        pool = await create_pool(settings)
        producer = Producer(settings)
        await producer.start()
        try:
            return await Intake(pool, producer, settings).erase(workspace, contact_id, actor=cli_actor(), via="cli")
        finally:
            await producer.stop()
            await pool.close()

    removed = asyncio.run(go())
    if removed is None:
        console.print(f"Workspace {workspace} holds nothing about contact {contact_id}; nothing was erased.")
        raise typer.Exit(1)
    table = Table("table", "rows removed or blanked", title=f"Erased {contact_id}")
    for name, count in sorted(removed.items()):
        table.add_row(name, str(count))
    console.print(table)
