"""`dripline flows`: check flow files and see what a contact would receive, before going live."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from services.scheduler.domain import ContactView, WorkspacePolicy, check_flow
from services.scheduler.domain.simulation import Timeline, parse_events, simulate

flows_app = typer.Typer(help="Validate and simulate flows.", no_args_is_help=True)
console = Console()

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
        subject=(lambda template, _c: str(known.get(template, {}).get("subject", ""))) if known else None,
    )
    console.print(_table(timeline, who.time_zone or (rules.time_zone if rules else "UTC")))
