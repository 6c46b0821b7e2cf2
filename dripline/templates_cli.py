"""`dripline templates validate|publish|preview|test-send|default-locale|check-links|check`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.sender.adapters.audience import Audience
from services.sender.adapters.spamassassin import SpamAssassinMissing
from services.sender.adapters.templates import TemplateStore
from services.sender.domain.rendering.compile import validate_languages
from services.sender.domain.rendering.errors import RenderError, TemplateError
from services.sender.domain.rendering.locales import known_locale
from services.sender.usecases.link_check import check_links
from services.sender.usecases.mail import Letter, MailComposer
from services.sender.usecases.spam_check import flow_contexts, score_templates
from services.sender.workers.runtime import smtp_relay
from shared.db.pool import create_pool
from shared.ids import new_id
from shared.settings import SenderSettings
from shared.smtp_replies import classify_smtp_reply
from shared.workspaces import load_default_locale, save_default_locale

templates_app = typer.Typer(no_args_is_help=True, help="Validate, publish, preview and test email templates.")
console = Console()
T = TypeVar("T")

DEFAULT_DIR = Path("examples/templates")
Paths = Annotated[list[Path] | None, typer.Argument(help="Template files or folders (default: examples/templates).")]
Workspace = Annotated[str, typer.Option(help="Workspace id.")]
ContactId = Annotated[str | None, typer.Option(help="Render for this stored contact.")]
ContactJson = Annotated[str | None, typer.Option(help='Inline contact data as JSON, e.g. {"first_name": "Kari"}.')]
VariablesJson = Annotated[str, typer.Option(help='What the flow would pass, as JSON, e.g. {"order": {"id": 1}}.')]
LocaleOption = Annotated[
    str | None, typer.Option(help="Render the variant a reader of this locale gets (default: the contact's locale).")
]


def _files(paths: list[Path] | None) -> list[Path]:
    found: list[Path] = []
    for path in paths or [DEFAULT_DIR]:
        found += sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
    return found


def _with_pool(work: Callable[[asyncpg.Pool, SenderSettings], Awaitable[T]]) -> T:
    async def go() -> T:
        settings = SenderSettings()
        pool = await create_pool(settings)
        try:
            return await work(pool, settings)
        finally:
            await pool.close()

    return asyncio.run(go())


@templates_app.command()
def validate(paths: Paths = None) -> None:
    """Load and compile each file, in each of its languages; list every problem. Exit 1 when any file has one."""
    from services.sender.domain.rendering.template import load_template

    table = Table("file", "template", "problems")
    failed = 0
    for path in _files(paths):
        try:
            problems = [str(p) for p in validate_languages(load_template(path.read_text(), filename=path.name))]
        except TemplateError as error:
            problems = [str(p) for p in error.problems]
        failed += bool(problems)
        table.add_row(str(path), path.stem, "\n".join(problems) or "[green]ok[/green]")
    console.print(table)
    if failed:
        raise typer.Exit(1)


@templates_app.command()
def publish(workspace: Workspace, paths: Paths = None) -> None:
    """Store each file as the template's next version (unchanged files keep their version)."""

    async def work(pool: asyncpg.Pool, settings: SenderSettings) -> list[tuple[str, int, bool]]:
        store = TemplateStore(pool)
        out = []
        for path in _files(paths):
            published = await store.publish(workspace, path.read_text())
            out.append((published.template.template_id, published.template.version, published.changed))
        return out

    try:
        rows = _with_pool(work)
    except TemplateError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    table = Table("template", "version", "")
    for template_id, version, changed in rows:
        table.add_row(template_id, str(version), "published" if changed else "unchanged")
    console.print(table)


async def _letter(
    pool: asyncpg.Pool,
    settings: SenderSettings,
    workspace: str,
    template_id: str,
    contact_id: str | None,
    contact: str | None,
    variables: str,
    to: str | None = None,
    locale: str | None = None,
) -> tuple[MailComposer, Letter]:
    stored = await TemplateStore(pool).latest(workspace, template_id)
    if stored is None:
        raise typer.BadParameter(f"no template {template_id!r} in workspace {workspace!r}")
    profile: dict[str, Any] = json.loads(contact) if contact else {}
    if contact_id and not contact:
        profile = await Audience(pool).profile(workspace, contact_id) or {}
    if to:
        profile["email"] = to
    if locale is not None and not known_locale(locale):
        raise typer.BadParameter(f"unknown locale {locale!r}", param_hint="--locale")
    reader = locale or profile.get("locale")
    template = stored.load().in_locale(str(reader) if reader else None, await load_default_locale(pool, workspace))
    composer = MailComposer(settings)
    letter = composer.render(
        template,
        message_id=f"cli-{datetime.now(UTC):%Y%m%d%H%M%S%f}",
        workspace_id=workspace,
        contact_id=contact_id or "preview",
        profile=profile,
        variables=json.loads(variables),
        now=datetime.now(UTC),
    )
    return composer, letter


@templates_app.command()
def preview(
    template_id: str,
    workspace: Workspace,
    contact_id: ContactId = None,
    contact: ContactJson = None,
    variables: VariablesJson = "{}",
    html_out: Annotated[Path | None, typer.Option(help="Also write the HTML here.")] = None,
    locale: LocaleOption = None,
) -> None:
    """Render the latest version for a contact, in their language (or --locale's): subject and text (HTML to
    a file)."""

    async def work(pool: asyncpg.Pool, settings: SenderSettings) -> Letter:
        found = await _letter(pool, settings, workspace, template_id, contact_id, contact, variables, locale=locale)
        return found[1]

    try:
        letter = _with_pool(work)
    except RenderError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    console.print(f"[bold]Subject:[/bold] {letter.rendered.subject}")
    console.print(letter.rendered.text, highlight=False, markup=False)
    if html_out is not None:
        html_out.write_text(letter.rendered.html)
        console.print(f"HTML written to {html_out}", style="dim")


@templates_app.command("test-send")
def test_send(
    template_id: str,
    workspace: Workspace,
    to: Annotated[str, typer.Option(help="Address to send the test to.")],
    contact_id: ContactId = None,
    contact: ContactJson = None,
    variables: VariablesJson = "{}",
    locale: LocaleOption = None,
) -> None:
    """Render and send one message over the configured SMTP server (outside the ledger)."""

    async def work(pool: asyncpg.Pool, settings: SenderSettings) -> str:
        composer, letter = await _letter(
            pool, settings, workspace, template_id, contact_id, contact, variables, to, locale=locale
        )
        relay = smtp_relay(settings)
        try:
            # Its own Message-ID each time: receivers drop a message whose Message-ID they have seen before.
            data = composer.message_bytes(letter, message_id=f"test-{new_id()}", now=datetime.now(UTC))
            reply = await relay.send(composer.from_address, to, data)
        finally:
            await relay.close()
        verdict = classify_smtp_reply(reply.code, reply.message)
        return f"{verdict.outcome.value}: {verdict.reason}"

    outcome = _with_pool(work)
    console.print(outcome)
    if not outcome.startswith("sent"):
        raise typer.Exit(1)


@templates_app.command("default-locale")
def default_locale_command(
    workspace: Workspace,
    locale: Annotated[str | None, typer.Argument(help="The new default (nb, sv, en, …); leave out to show it.")] = None,
    clear: Annotated[
        bool, typer.Option(help="Remove the default: readers fall back to a template's own fields.")
    ] = False,
) -> None:
    """Show or set the language readers get when their locale finds no variant of a template."""
    if locale is not None and not known_locale(locale):
        raise typer.BadParameter(f"unknown locale {locale!r}", param_hint="LOCALE")

    async def work(pool: asyncpg.Pool, settings: SenderSettings) -> str | None:
        if not await pool.fetchval("SELECT true FROM workspaces WHERE id = $1", workspace):
            raise typer.BadParameter(f"no workspace {workspace!r}", param_hint="--workspace")
        if locale is not None or clear:
            await save_default_locale(pool, workspace, None if clear else locale)
        return await load_default_locale(pool, workspace)

    found = _with_pool(work)
    console.print(f"{workspace}: default locale {found or 'none (the templates’ own fields)'}", highlight=False)


@templates_app.command("check-links")
def check_links_command(
    workspace: Annotated[str | None, typer.Option(help="Only this workspace (default: all).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 5.0,
) -> None:
    """Fetch every link of every latest template (HEAD, then GET); exit 1 when any is broken."""

    async def work(pool: asyncpg.Pool, settings: SenderSettings) -> list[Any]:
        return await check_links(
            TemplateStore(pool),
            MailComposer(settings),
            workspace_id=workspace,
            timeout=timeout,
            allow_private=settings.allow_private_webhooks,
        )

    results = _with_pool(work)
    broken = [result for result in results if result.broken]
    table = Table("workspace", "template", "link", "status", title=f"{len(broken)} broken of {len(results)} links")
    for result in sorted(results, key=lambda r: (not r.broken, r.workspace_id, r.template_id, r.url)):
        shown = f"[red]{result.problem}[/red]" if result.broken else f"[green]{result.status}[/green]"
        table.add_row(result.workspace_id, result.template_id, result.url, shown)
    console.print(table)
    if broken:
        raise typer.Exit(1)


@templates_app.command()
def check(
    paths: Paths = None,
    flows: Annotated[Path, typer.Option(help="Flow files whose sample events fill the templates.")] = Path(
        "examples/flows"
    ),
    max_score: Annotated[float, typer.Option(help="Exit 1 when a template scores above this.")] = 1.0,
    locale: Annotated[
        str | None, typer.Option(help="Score only the language a reader of this locale gets (default: every one).")
    ] = None,
) -> None:
    """Render each template in each of its languages as the sender would and score it with SpamAssassin
    (offline rules): the score, the rules that fired and whether the message carries the open pixel."""
    from services.sender.domain.rendering.template import load_template

    templates = [load_template(path.read_text(), filename=path.name) for path in _files(paths)]
    contexts = flow_contexts(path.read_text() for path in _files([flows])) if flows.exists() else {}
    with console.status(f"Scoring {len(templates)} templates with SpamAssassin…"):
        try:
            scores = score_templates(MailComposer(SenderSettings()), templates, contexts, locale=locale)
        except (RenderError, SpamAssassinMissing) as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from error
    over = [found for found in scores if found.score.score > max_score]
    title = f"{len(over)} of {len(scores)} over {max_score:g}"
    table = Table("template", "language", "score", "opens", "rules that fired", title=title)
    for found in scores:
        value = f"{found.score.score + 0.0:.1f}"  # + 0.0: no "-0.0"
        shown = f"[red]{value}[/red]" if found in over else f"[green]{value}[/green]"
        opens = "tracked" if found.opens_tracked else "unknown (no pixel)"
        table.add_row(found.template_id, found.locale, shown, opens, found.score.summary())
    console.print(table)
    if over:
        raise typer.Exit(1)
