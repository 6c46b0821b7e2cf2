"""`dripline segments`: save segments from files (backfilled with a progress bar), preview counts, list them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.scheduler.adapters.flows import FlowCatalog
from services.scheduler.adapters.segment_backfills import backfill_progress
from services.scheduler.adapters.segments import save_segment, segment_counts
from services.scheduler.domain import Segment
from services.scheduler.unit_of_work.unit import Units
from services.scheduler.usecases.journeys import Journeys
from services.scheduler.usecases.segment_backfill import OnProgress, SegmentBackfill
from shared.settings import SchedulerSettings

segments_app = typer.Typer(help="Segments: save, preview and list.", no_args_is_help=True)
console = Console()
T = TypeVar("T")
WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Workspace id")]
FileArgument = Annotated[Path, typer.Argument(help="A segment file: id, name and condition (YAML)")]


def _segment(path: Path) -> Segment:
    try:
        return Segment.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError, OSError) as error:
        console.print(f"[red]{path}: {error}[/red]")
        raise typer.Exit(1) from error


async def _with_backfill(work: Callable[[Units, SegmentBackfill], Awaitable[T]]) -> T:
    from shared.db.pool import create_pool

    settings = SchedulerSettings()
    pool = await create_pool(settings)
    try:
        units = Units(pool, FlowCatalog())
        return await work(units, SegmentBackfill(units, Journeys(settings), settings))
    finally:
        await pool.close()


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def _advance(progress: Progress, label: str) -> OnProgress:
    task = progress.add_task(label, total=None)
    return lambda done, total: progress.update(task, completed=done, total=total)


@segments_app.command()
def apply(path: FileArgument, workspace: WorkspaceOption = "demo") -> None:
    """Save a segment and judge every contact of the workspace now (entries start segment-triggered flows)."""
    segment = _segment(path)

    async def work(units: Units, backfill: SegmentBackfill) -> int:
        await save_segment(units.pool, workspace, segment)
        with _bar() as progress:
            await backfill.run(workspace, segment.id, _advance(progress, f"Backfilling {segment.id}"))
        [(_, members)] = await segment_counts(units.pool, workspace, segment.id)
        return members

    members = asyncio.run(_with_backfill(work))
    console.print(f"Saved {segment.id} in {workspace}: {members} members.")


@segments_app.command()
def preview(path: FileArgument, workspace: WorkspaceOption = "demo") -> None:
    """How many contacts the segment would hold now; saves nothing."""
    segment = _segment(path)

    async def work(units: Units, backfill: SegmentBackfill) -> int:
        with _bar() as progress:
            return await backfill.preview(workspace, segment, _advance(progress, f"Counting {segment.id}"))

    console.print(f"{segment.id} would hold {asyncio.run(_with_backfill(work))} contacts of {workspace} now.")


@segments_app.command("list")
def list_segments(workspace: WorkspaceOption = "demo") -> None:
    """The workspace's segments, their members and their last backfill."""

    async def work(units: Units, backfill: SegmentBackfill) -> Table:
        table = Table("segment", "members", "condition", "backfill", title=f"Segments of {workspace}")
        for segment, members in await segment_counts(units.pool, workspace):
            found = await backfill_progress(units.pool, workspace, segment.id)
            state = "—" if found is None else f"{found.done}/{found.total}" + (" done" if found.finished_at else "")
            table.add_row(segment.id, str(members), segment.condition, state)
        return table

    console.print(asyncio.run(_with_backfill(work)))
