"""The `dripline` command: run the local stack, manage keys, regenerate docs, migrate."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dripline.broadcasts_cli import broadcasts_app
from dripline.contacts_cli import contacts_app
from dripline.coupons_cli import coupons_app
from dripline.domains_cli import domains_app
from dripline.flows_cli import flows_app
from dripline.keys_cli import keys_app
from dripline.report_cli import report_app
from dripline.secrets_cli import secrets_app
from dripline.segments_cli import segments_app
from dripline.templates_cli import templates_app
from dripline.users_cli import users_app
from shared.settings import CommonSettings, DevStackSettings

app = typer.Typer(help="Dripline: event-driven marketing automation for web shops.", no_args_is_help=True)
app.add_typer(keys_app, name="keys", help="Workspace API keys.")
app.add_typer(flows_app, name="flows", help="Validate, simulate and publish flows.")
app.add_typer(contacts_app, name="contacts", help="Import lists, export or erase a contact.")
app.add_typer(templates_app, name="templates")
app.add_typer(segments_app, name="segments", help="Segments: save (with a backfill), preview, list.")
app.add_typer(coupons_app, name="coupons", help="Discount codes: import pools, list them, issued vs redeemed.")
app.add_typer(broadcasts_app, name="broadcasts", help="Newsletters and campaigns sent once to an audience.")
app.add_typer(report_app, name="report", help="Flow and broadcast performance, A/B variants and cohorts.")
app.add_typer(users_app, name="users", help="Console users and their role per workspace.")
app.add_typer(domains_app, name="domains", help="A workspace's sending domain: DKIM key, DNS records, verification.")
app.add_typer(secrets_app, name="secrets", help="Generate secrets, or check those set against the production rules.")
console = Console()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM and SIGHUP stop the stack the same orderly way Ctrl-C does."""
    raise KeyboardInterrupt


@app.command()
def run() -> None:
    """Start the whole local stack (embedded PostgreSQL, Tansu broker, SMTP inbox, four services)."""
    from dripline.devstack.banner import print_banner
    from dripline.devstack.postgres import redact
    from dripline.devstack.stack import LocalStack

    stack = LocalStack(DevStackSettings(_env_file=".env"))  # type: ignore[call-arg]  # not a stale stack.env
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        with console.status("Starting PostgreSQL, the broker and migrations…"):
            stack.prepare()
            stack.plan_children()
            for child in stack.children:
                stack.spawn(child)
        with console.status("Waiting for the services to answer…"):
            late = stack.wait_healthy()
        if late:
            console.print(f"[red]Not healthy yet:[/red] {', '.join(late)} — see {stack.logs_dir}")
        with console.status("Publishing the example flows and templates to the demo workspace…"):
            unseeded = stack.seed_examples()
        if unseeded:
            console.print(f"[red]Could not publish the example {' and '.join(unseeded)}[/red] — see {stack.logs_dir}")
        print_banner(console, stack, stack.env["KAFKA_BOOTSTRAP_SERVERS"], redact(stack.env["DATABASE_URL"]))
        console.print(f"Up in {time.monotonic() - started:.1f} s.", style="dim")
        while True:
            for name in stack.supervise_once():
                console.print(f"[yellow]{name} exited; restarted[/yellow] (logs in {stack.logs_dir})")
            broker = stack.supervise_broker()
            if broker:
                console.print(broker, style="yellow", markup=False, highlight=False)
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("Stopping…")
    finally:
        stack.stop()


@app.command()
def migrate() -> None:
    """Apply database migrations (what the Kubernetes migration job runs)."""
    from shared.db.migrate import upgrade

    upgrade(CommonSettings())
    console.print("Database schema is up to date.")


@app.command("create-topics")
def create_topics() -> None:
    """Create the contract's topics on the broker in KAFKA_BOOTSTRAP_SERVERS."""
    from shared.kafka.admin import config_drift, ensure_topics

    settings = CommonSettings()
    created = asyncio.run(ensure_topics(settings))
    console.print(f"Created {len(created)} topics." if created else "Every topic exists already.")
    for name, differs in asyncio.run(config_drift(settings)).items():
        wanted = ",".join(f"{key}={value}" for key, _, value in differs)
        console.print(
            f"[yellow]{name} was created with other settings[/yellow] "
            f"({', '.join(f'{key}: {have} → {value}' for key, have, value in differs)}); change them with\n"
            f"  kafka-configs.sh --bootstrap-server … --alter --entity-type topics --entity-name {name} "
            f"--add-config {wanted}",
            markup=True,
            highlight=False,
        )


@app.command("tail")
def tail_topic(
    topic: Annotated[str, typer.Argument(help="A topic from the contract, e.g. shop.signups.")],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Print what the topic holds first, not only new records.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--max", min=1, help="Stop after this many records.")] = None,
    timeout: Annotated[
        float | None, typer.Option(min=0.1, help="Stop after this many seconds without a new record.")
    ] = None,
    follow: Annotated[
        bool, typer.Option(help="Keep waiting for records (--no-follow: stop once caught up with the topic).")
    ] = True,
) -> None:
    """Print a topic's records as JSON lines: new ones by default, until Ctrl-C, --max or --timeout."""
    from dripline.tail import TailOptions, run_tail
    from shared.contract.topics import EVERY_TOPIC

    if topic not in {known.name for known in EVERY_TOPIC}:
        raise typer.BadParameter(f"no such topic; one of {', '.join(t.name for t in EVERY_TOPIC)}", param_hint="TOPIC")
    run_tail(topic, TailOptions(from_beginning=from_beginning, limit=limit, timeout=timeout, follow=follow))


@app.command()
def docs() -> None:
    """Regenerate docs/ (topic JSON Schemas, AsyncAPI) and the README settings table."""
    from dripline.settings_table import write_readme_table
    from shared.contract.docs import write_docs

    table = Table("file", "status")
    for path, changed in write_docs():
        table.add_row(str(path), "updated" if changed else "unchanged")
    table.add_row("README.md (settings table)", "updated" if write_readme_table() else "unchanged")
    console.print(table)


@app.command()
def bench(
    stage: Annotated[
        list[str] | None, typer.Option("--stage", help="Run only this stage (repeatable); default: all.")
    ] = None,
    large: Annotated[bool, typer.Option(help="10 million pending timers instead of 1 million.")] = False,
    quick: Annotated[bool, typer.Option(help="Small sizes, for trying things (figures are rougher).")] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Write results.json and RESULTS.md here instead, and leave the README alone (trial runs)."),
    ] = None,
) -> None:
    """Measure every stage against its baseline on a local stack; write bench/results.json and the README table."""
    from bench.runner import run_bench

    out_dir, readme = (out, None) if out is not None else (Path("bench"), Path("README.md"))
    results = run_bench(stage or [], large=large, quick=quick, out_dir=out_dir, readme=readme, console=console)
    measured = sum(1 for result in results if not result.not_measured)
    console.print(f"{measured} of {len(results)} stages measured; see {out_dir / 'RESULTS.md'}.")


if __name__ == "__main__":
    app()
