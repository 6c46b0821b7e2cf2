"""`dripline flows`: check flow files and see what a contact would receive, before going live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from rich.console import Console
from rich.table import Table

from services.scheduler.adapters.flows import FlowCatalog
from services.scheduler.domain import ContactView, WorkspacePolicy, check_flow
from services.scheduler.domain.simulation import Timeline, parse_events, simulate
from services.scheduler.journeys import Journeys
from services.scheduler.passes import arm_flow_dates, migrate_flow, resume_flow
from services.scheduler.unit import Units
from shared.settings import SchedulerSettings

flows_app = typer.Typer(help="Validate, simulate, publish and operate flows.", no_args_is_help=True)
console = Console()
T = TypeVar("T")

TemplatesOption = Annotated[
    Path | None, typer.Option("--templates", help="Directory of <template_id>.yaml files to check against")
]


def _templates(directory: Path | None) -> dict[str, dict[str, Any]]:
    if directory is None:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            found[str(data.get("id", path.stem))] = data
    return found


def _flow_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files += sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    return files


@flows_app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Flow files or directories")],
    templates: TemplatesOption = None,
    attributes: Annotated[str | None, typer.Option(help="Comma-separated list of known contact attributes")] = None,
) -> None:
    """Check flow files; print file:line: reason for every problem and exit 1 if any."""
    known_templates = set(_templates(templates)) if templates else None
    known_attributes = {a.strip() for a in attributes.split(",") if a.strip()} if attributes else None
    failed = 0
    for path in _flow_files(paths):
        _, problems = check_flow(path.read_text(encoding="utf-8"), str(path), known_templates, known_attributes)
        for problem in problems:
            console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
        if not problems:
            console.print(f"[green]ok[/green] {path}", highlight=False, soft_wrap=True)
        failed += bool(problems)
    if failed:
        raise typer.Exit(code=1)


def _table(timeline: Timeline, time_zone: str) -> Table:
    table = Table(title=f"Timeline ({time_zone})")
    table.add_column("Time", no_wrap=True)
    for column in ("Step", "What", "Detail", "Subject"):
        table.add_column(column)
    for row in timeline.rows:
        local = row.line(time_zone)[:16]
        table.add_row(local, row.step_id or "", row.what, row.detail, row.subject or "")
    return table


@flows_app.command("simulate")
def simulate_flow(
    flow: Annotated[Path, typer.Argument(help="The flow file")],
    contact: Annotated[Path, typer.Option("--contact", help="contact.json: id, time_zone, attributes, tags ...")],
    events: Annotated[Path, typer.Option("--events", help="events.jsonl: type with at (ISO) or after (2d)")],
    days: Annotated[int, typer.Option(help="How many days to simulate")] = 60,
    start: Annotated[str | None, typer.Option(help="ISO start time; defaults to now")] = None,
    policy: Annotated[Path | None, typer.Option(help="Workspace policy YAML (caps, quiet hours, grace)")] = None,
    templates: TemplatesOption = None,
) -> None:
    """Run a flow for one contact on a virtual clock and print what would happen when."""
    parsed, problems = check_flow(flow.read_text(encoding="utf-8"), str(flow))
    if parsed is None:
        for problem in problems:
            console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1)
    start_at = datetime.fromisoformat(start) if start else datetime.now(UTC)
    start_at = start_at if start_at.tzinfo else start_at.replace(tzinfo=UTC)
    who = ContactView.model_validate(json.loads(contact.read_text(encoding="utf-8")))
    lines = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines() if line.strip()]
    rules = WorkspacePolicy.model_validate(yaml.safe_load(policy.read_text(encoding="utf-8"))) if policy else None
    known = _templates(templates)
    timeline = simulate(
        parsed,
        who,
        parse_events(lines, start_at),
        start_at,
        days,
        rules or WorkspacePolicy(),
        subject=(lambda template, person: _subject(known, template, person)) if known else None,
    )
    console.print(_table(timeline, who.time_zone or (rules.time_zone if rules else "UTC")))


def _subject(known: dict[str, Any], template: str, person: ContactView) -> str:
    """The subject as this contact would read it (Liquid in the templates' sandbox); raw if it cannot render."""
    from liquid.exceptions import LiquidError

    from services.sender.domain.liquid_env import environment

    source = str(known.get(template, {}).get("subject", ""))
    profile = {**person.attributes, "attributes": person.attributes, "tags": list(person.tags)}
    try:
        return str(environment(autoescape=False, strict=False).from_string(source).render(contact=profile))
    except (LiquidError, ValueError, TypeError, LookupError):
        return source


# -- publishing and operating flows: straight to the database, so no running service is needed -----

WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Workspace id")]


async def _with_units(work: Callable[[Units, Journeys], Awaitable[T]]) -> T:
    from shared.db.pool import create_pool

    settings = SchedulerSettings()
    pool = await create_pool(settings)
    try:
        return await work(Units(pool, FlowCatalog()), Journeys(settings))
    finally:
        await pool.close()


@flows_app.command()
def publish(
    paths: Annotated[list[Path], typer.Argument(help="Flow files or directories")], workspace: WorkspaceOption = "demo"
) -> None:
    """Publish flows; a changed file becomes a new version, an unchanged one keeps its version."""

    async def go(units: Units, journeys: Journeys) -> int:
        failed = 0
        for path in _flow_files(paths):
            async with units.pool.acquire() as connection:
                result = await units.catalog.publish(connection, workspace, path.read_text(encoding="utf-8"), str(path))
            for problem in result.problems:
                console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
            if result.flow is None:
                failed += 1
                continue
            if result.created and any(trigger.type == "date" for trigger in result.flow.triggers):
                await arm_flow_dates(units, journeys, workspace)
            what = "published" if result.created else "unchanged"
            console.print(f"[green]{what}[/green] {result.flow.id} v{result.flow.version} ({path})", highlight=False)
        return failed

    if asyncio.run(_with_units(go)):
        raise typer.Exit(code=1)


@flows_app.command("list")
def list_flows(workspace: WorkspaceOption = "demo") -> None:
    """Published flows with their current version, pause state and live enrollments."""

    async def go(units: Units, _: Journeys) -> list[Any]:
        rows: list[Any] = await units.pool.fetch(
            "SELECT f.flow_id, f.name, f.current_version, f.paused, "
            "(SELECT count(*) FROM enrollments e WHERE e.workspace_id = f.workspace_id AND e.flow_id = f.flow_id "
            "AND e.active) AS live FROM flows f WHERE f.workspace_id = $1 ORDER BY f.flow_id",
            workspace,
        )
        return rows

    table = Table("flow", "name", "version", "paused", "live enrollments", title=f"Flows of {workspace}")
    for row in asyncio.run(_with_units(go)):
        table.add_row(
            row["flow_id"], row["name"], str(row["current_version"]), "yes" if row["paused"] else "", str(row["live"])
        )
    console.print(table)


def _operate(flow_id: str, workspace: str, action: str) -> None:
    async def go(units: Units, journeys: Journeys) -> str:
        async with units.pool.acquire() as connection:
            head = await units.catalog.head(connection, workspace, flow_id)
            if head is None:
                return f"[red]no flow {flow_id} in {workspace}[/red]"
            if action in ("pause", "resume"):
                await units.catalog.set_paused(connection, workspace, flow_id, action == "pause")
        if action == "pause":
            return f"paused {flow_id}: no new entries, timers held"
        if action == "resume":
            return f"resumed {flow_id}: {await resume_flow(units, journeys, workspace, flow_id)} enrollments continued"
        moved = await migrate_flow(units, workspace, flow_id, head.current_version)
        return f"moved {moved} enrollments of {flow_id} to v{head.current_version}"

    message = asyncio.run(_with_units(go))
    console.print(message, highlight=False)
    if message.startswith("[red]"):
        raise typer.Exit(code=1)


@flows_app.command("pause")
def pause_flow(flow_id: str, workspace: WorkspaceOption = "demo") -> None:
    """Stop new entries and hold timers (a running scheduler picks this up at once)."""
    _operate(flow_id, workspace, "pause")


@flows_app.command("resume")
def resume_flow_command(flow_id: str, workspace: WorkspaceOption = "demo") -> None:
    """Allow entries again and continue the enrollments that were held."""
    _operate(flow_id, workspace, "resume")


@flows_app.command("migrate")
def migrate_flow_command(flow_id: str, workspace: WorkspaceOption = "demo") -> None:
    """Move in-flight contacts to the current version, at the same step where it still exists."""
    _operate(flow_id, workspace, "migrate")
