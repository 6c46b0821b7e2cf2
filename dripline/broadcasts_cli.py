"""`dripline broadcasts`: create, schedule and follow newsletters and campaigns (docs/broadcasts.md).

Reads and writes the scheduler's tables as the API does (the same use cases); the scheduler's broadcast loop
picks a change up within `DRIPLINE_BROADCAST_POLL_SECONDS`.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from dripline.report_cli import with_pool
from services.scheduler.adapters.broadcasts import broadcast, broadcasts, create_broadcast
from services.scheduler.domain.broadcasts import (
    Broadcast,
    Command,
    RefusedChange,
    Schedule,
    SendAt,
    SendAtBestTime,
    SendAtLocalTime,
    SendNow,
)
from services.scheduler.domain.durations import parse_time_of_day
from services.scheduler.usecases.broadcast_commands import Standing, operate, standing
from shared.audit import record_cli_change

broadcasts_app = typer.Typer(help="Newsletters and campaigns sent once to an audience.", no_args_is_help=True)
console = Console()
WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Workspace id")]
FINAL = ("sent", "cancelled")


def _now() -> datetime:
    return datetime.now(UTC)


def _table(found: Standing) -> Table:
    spec, done = found.broadcast.spec, found.progress
    table = Table(title=f"{spec.name} ({spec.id}): {found.broadcast.state}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("templates", ", ".join(spec.templates))
    table.add_row("audience", spec.audience.model_dump_json(exclude={"kind"}) + f" ({spec.audience.kind})")
    table.add_row("schedule", spec.schedule.model_dump_json() if spec.schedule else "not scheduled")
    table.add_row("throttle", f"{spec.per_hour}/h" if spec.per_hour else "none")
    if spec.per_domain_per_hour:
        table.add_row("per domain", f"{spec.per_domain_per_hour}/h to any one receiving domain")
    table.add_row("resolved", str(done.resolved))
    table.add_row("sent", str(done.sent))
    for reason, count in sorted(done.held.items()):
        table.add_row("held", f"{count}  {reason}")
    for reason, count in sorted(done.waiting.items()):
        table.add_row("waiting", f"{count}  {reason}")
    if spec.test:
        table.add_row("test", f"{spec.test.sample_percent}% sample, {spec.test.metric}, winner after the wait")
    if found.broadcast.decision:
        table.add_row("winner", str(found.broadcast.decision.get("why")))
    for template, counts in found.funnel.items():
        table.add_row(template, ", ".join(f"{count} {stage}" for stage, count in counts.items()))
    table.add_row("remaining", str(done.remaining))
    table.add_row("ETA", done.eta.isoformat(timespec="seconds") if done.eta else "-")
    return table


async def _standing(pool: asyncpg.Pool, workspace: str, broadcast_id: str) -> Standing:
    found = await broadcast(pool, workspace, broadcast_id)
    if found is None:
        raise typer.BadParameter(f"no broadcast {broadcast_id!r} in {workspace}", param_hint="BROADCAST_ID")
    return await standing(pool, found, workspace, _now())


@broadcasts_app.command()
def create(
    path: Annotated[Path, typer.Argument(help="A broadcast as YAML or JSON (see docs/broadcasts.md)")],
    workspace: WorkspaceOption = "demo",
) -> None:
    """Create a draft, or change one that is still a draft."""
    try:
        spec = Broadcast.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as error:
        for problem in error.errors():
            console.print(f"{path}: {'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}")
        raise typer.Exit(1) from error

    async def work(pool: asyncpg.Pool) -> Standing:
        if not await create_broadcast(pool, workspace, spec):
            raise typer.BadParameter(f"broadcast {spec.id!r} is no longer a draft", param_hint="PATH")
        return await _standing(pool, workspace, spec.id)

    console.print(_table(with_pool(work)))


def _schedule(now: bool, at: datetime | None, local: str | None, best: str | None, on: date | None) -> Schedule:
    chosen = [name for name, value in (("--now", now), ("--at", at), ("--local", local), ("--best", best)) if value]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --now, --at, --local HH:MM or --best HH:MM-HH:MM")
    if at is not None:
        return SendAt(at=at if at.tzinfo else at.replace(tzinfo=UTC))
    if local or best:
        if on is None:
            raise typer.BadParameter("--on DATE is needed with --local and --best", param_hint="--on")
        if local:
            return SendAtLocalTime(date=on, time=parse_time_of_day(local))
        start, _, end = str(best).partition("-")
        return SendAtBestTime(date=on, start=parse_time_of_day(start), end=parse_time_of_day(end))
    return SendNow()


def _move(workspace: str, broadcast_id: str, command: Command, schedule: Schedule | None = None) -> None:
    async def work(pool: asyncpg.Pool) -> Standing:
        try:
            moved = await operate(pool, workspace, broadcast_id, command, _now(), schedule)
        except RefusedChange as refused:
            raise typer.BadParameter(str(refused), param_hint="BROADCAST_ID") from refused
        if moved is None:
            raise typer.BadParameter(f"no broadcast {broadcast_id!r} in {workspace}", param_hint="BROADCAST_ID")
        async with pool.acquire() as connection:
            await record_cli_change(connection, workspace, f"broadcast.{moved.state}", broadcast_id)
        return await standing(pool, moved, workspace, _now())

    console.print(_table(with_pool(work)))


@broadcasts_app.command()
def schedule(
    broadcast_id: str,
    workspace: WorkspaceOption = "demo",
    now: Annotated[bool, typer.Option("--now", help="Send at once")] = False,
    at: Annotated[datetime | None, typer.Option(help="Send at this instant (UTC unless it says)")] = None,
    local: Annotated[str | None, typer.Option(help="HH:MM on each contact's wall clock, on --on")] = None,
    best: Annotated[str | None, typer.Option(help="HH:MM-HH:MM: each contact's best hour in it, on --on")] = None,
    on: Annotated[datetime | None, typer.Option(help="The date of --local or --best", formats=["%Y-%m-%d"])] = None,
) -> None:
    """Schedule a draft (or change the schedule of one that has not started)."""
    _move(workspace, broadcast_id, "schedule", _schedule(now, at, local, best, on.date() if on else None))


@broadcasts_app.command()
def pause(broadcast_id: str, workspace: WorkspaceOption = "demo") -> None:
    """Pause a scheduled or sending broadcast; those not yet requested wait."""
    _move(workspace, broadcast_id, "pause")


@broadcasts_app.command()
def resume(broadcast_id: str, workspace: WorkspaceOption = "demo") -> None:
    """Resume a paused broadcast where it stopped."""
    _move(workspace, broadcast_id, "resume")


@broadcasts_app.command()
def cancel(broadcast_id: str, workspace: WorkspaceOption = "demo") -> None:
    """Cancel a broadcast; those not yet requested are held as cancelled."""
    _move(workspace, broadcast_id, "cancel")


@broadcasts_app.command(name="list")
def list_all(workspace: WorkspaceOption = "demo") -> None:
    """The workspace's broadcasts, newest first."""

    async def work(pool: asyncpg.Pool) -> list[Standing]:
        return [await standing(pool, one, workspace, _now()) for one in await broadcasts(pool, workspace, 100)]

    table = Table("id", "name", "state", "resolved", "sent", "held", "remaining", title=f"Broadcasts of {workspace}")
    for found in with_pool(work):
        done = found.progress
        table.add_row(found.broadcast.id, found.broadcast.spec.name, found.broadcast.state, str(done.resolved),
                      str(done.sent), str(sum(done.held.values())), str(done.remaining))  # fmt: skip
    console.print(table)


@broadcasts_app.command()
def status(
    broadcast_id: str,
    workspace: WorkspaceOption = "demo",
    follow: Annotated[bool, typer.Option("--follow", help="A progress bar until it is sent or cancelled")] = False,
    every: Annotated[float, typer.Option(help="Seconds between looks with --follow")] = 1.0,
) -> None:
    """Where a broadcast stands: resolved, sent, held with reasons, waiting, remaining, ETA."""
    found = with_pool(lambda pool: _standing(pool, workspace, broadcast_id))
    if follow:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(found.broadcast.state, total=found.progress.resolved or None)
            while True:
                done = found.progress
                held = sum(done.held.values())
                bar.update(task, description=f"{found.broadcast.state}: {done.sent} sent, {held} held",
                           completed=done.sent + held, total=done.resolved or None)  # fmt: skip
                if found.broadcast.state in FINAL:
                    break
                time.sleep(every)
                found = with_pool(lambda pool: _standing(pool, workspace, broadcast_id))
    console.print(_table(found))
