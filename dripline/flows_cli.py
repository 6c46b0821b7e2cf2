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

from services.scheduler.adapters.consent import promise_warnings
from services.scheduler.adapters.flows import FlowCatalog
from services.scheduler.domain import ContactView, Flow, WorkspacePolicy, check_flow
from services.scheduler.domain.engine import NO_POLICY
from services.scheduler.domain.local_time import zone
from services.scheduler.domain.message_checks import message_problems
from services.scheduler.domain.simulation import Timeline, parse_events, simulate
from services.scheduler.unit_of_work.unit import Units
from services.scheduler.usecases.journeys import Journeys
from services.scheduler.usecases.passes import arm_flow_dates, migrate_flow, resume_flow
from shared.settings import SchedulerSettings

flows_app = typer.Typer(help="Validate, simulate, publish and operate flows.", no_args_is_help=True)
console = Console()
T = TypeVar("T")

TemplatesOption = Annotated[
    Path | None, typer.Option("--templates", help="Directory of <template_id>.yaml files to check against")
]


def _template_files(directory: Path | None) -> dict[str, tuple[Path, str]]:
    """Template id -> (its file, its text), for every template file in `directory`."""
    if directory is None:
        return {}
    found: dict[str, tuple[Path, str]] = {}
    for path in sorted(directory.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if isinstance(data, dict):
            found[str(data.get("id", path.stem))] = (path, text)
    return found


def _templates(directory: Path | None) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for template_id, (_, text) in _template_files(directory).items():
        found[template_id] = yaml.safe_load(text)
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
    workspace: Annotated[
        str | None, typer.Option(help="Also warn where this workspace's frequency caps break a topic's promise")
    ] = None,
) -> None:
    """Check flow files; print file:line: reason for every problem and exit 1 if any.

    With --templates, every variable the flows' templates and notify payloads use must be one the flow
    provides (its trigger event's fields and listed properties, the events its wait_for steps receive,
    the profile, and with --attributes the custom attributes) or carry a `| default:`. With --workspace,
    a marketing flow of a topic that promises how often is warned about (no failure) when the workspace's
    frequency caps allow more, or when the promise cannot be read."""
    files = _template_files(templates)
    known_templates = set(files) if templates else None
    known_attributes = {a.strip() for a in attributes.split(",") if a.strip()} if attributes else None
    sources = {template_id: (str(path), text) for template_id, (path, text) in files.items()}
    failed = 0
    checked: list[tuple[Path, Flow]] = []
    for path in _flow_files(paths):
        text = path.read_text(encoding="utf-8")
        flow, problems = check_flow(text, str(path), known_templates, known_attributes)
        if flow is not None and templates is not None:
            problems = [*problems, *message_problems(flow, text, str(path), sources, known_attributes)]
        for problem in problems:
            console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
        if not problems:
            console.print(f"[green]ok[/green] {path}", highlight=False, soft_wrap=True)
        failed += bool(problems)
        if flow is not None:
            checked.append((path, flow))
    if workspace is not None:
        ws = workspace

        async def warn(units: Units, journeys: Journeys) -> None:
            for path, flow in checked:
                _print_warnings(path, await promise_warnings(units.pool, ws, flow))

        asyncio.run(_with_units(warn))
    if failed:
        raise typer.Exit(code=1)


def local_time(at: datetime, time_zone: str) -> str:
    """`2025-03-30 09:00 +02:00`: the contact's wall clock with its offset, so a DST change reads right."""
    local = at.astimezone(zone(time_zone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def _table(timeline: Timeline, time_zone: str) -> Table:
    table = Table(title=f"Timeline ({time_zone}; times with their offset from UTC)")
    table.add_column("Time", no_wrap=True)
    for column in ("Step", "What", "Detail", "Subject"):
        table.add_column(column)
    for row in timeline.rows:
        table.add_row(local_time(row.at, time_zone), row.step_id or "", row.what, row.detail, row.subject or "")
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
        rules or NO_POLICY,
        subject=(lambda template, person: _subject(known, template, person)) if known else None,
    )
    console.print(_table(timeline, who.time_zone or (rules.time_zone if rules else "UTC")))


def _subject(known: dict[str, Any], template: str, person: ContactView) -> str:
    """The subject as this contact would read it (Liquid in the templates' sandbox); raw if it cannot render."""
    from liquid.exceptions import LiquidError

    from services.sender.domain.rendering.liquid_env import environment

    source = str(known.get(template, {}).get("subject", ""))
    profile = {**person.attributes, "attributes": person.attributes, "tags": list(person.tags)}
    try:
        return str(environment(autoescape=False, strict=False).from_string(source).render(contact=profile))
    except (LiquidError, ValueError, TypeError, LookupError):
        return source


# -- publishing and operating flows: straight to the database, so no running service is needed -----


def _print_warnings(path: Path, warnings: list[str]) -> None:
    for warning in warnings:
        console.print(f"[yellow]warning[/yellow] {path}: {warning}", highlight=False, soft_wrap=True)


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
            _print_warnings(path, await promise_warnings(units.pool, workspace, result.flow))
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
