"""`dripline domains add|verify|list`: a workspace's sending domain, its DKIM key and the DNS records to publish."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from shared.db.url import database_url
from shared.sending_domains import (
    DnsCheck,
    DnsRecord,
    IdentityError,
    check_records,
    identity_records,
    new_identity,
    resolver_for,
)
from shared.sending_identities import KeyBox, SendingIdentity, SendingIdentityStore
from shared.settings import SenderSettings

domains_app = typer.Typer(no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _run(work: Callable[[SendingIdentityStore, asyncpg.Connection], Awaitable[T]]) -> T:
    settings = SenderSettings()

    async def go() -> T:
        connection = await asyncpg.connect(database_url(settings))
        try:
            return await work(SendingIdentityStore(connection, KeyBox(settings.identity_encryption_key)), connection)
        finally:
            await connection.close()

    return asyncio.run(go())


def _records(identity: SendingIdentity) -> list[DnsRecord]:
    settings = SenderSettings()
    return identity_records(identity, tracker_public_url=settings.tracker_public_url, spf_include=settings.spf_include)


def _record_table(records: list[DnsRecord], checks: list[DnsCheck] | None = None) -> Table:
    table = Table("for", "type", "name", "value", *(["published", "DNS has"] if checks else []))
    for n, record in enumerate(records):
        row = [record.purpose, record.type, record.name, record.value]
        if checks:
            check = checks[n]
            row += ["[green]yes[/green]" if check.ok else "[red]no[/red]", check.found]
        table.add_row(*row)
    return table


@domains_app.command("add")
def add(
    workspace: Annotated[str, typer.Argument(help="Workspace id.")],
    domain: Annotated[str, typer.Argument(help="The domain mail is sent from, e.g. shop.example.")],
    from_name: Annotated[str, typer.Option(help="The sender's name readers see.")],
    from_address: Annotated[str | None, typer.Option(help="On the domain. Default: hello@DOMAIN.")] = None,
    reply_to: Annotated[str | None, typer.Option(help="Where readers' replies go.")] = None,
    postal_address: Annotated[
        str | None, typer.Option(help="Printed in every footer. Default: DRIPLINE_POSTAL_ADDRESS.")
    ] = None,
    tracking_domain: Annotated[
        str | None, typer.Option(help="Links go through it, e.g. links.shop.example (a CNAME to the tracker).")
    ] = None,
    warm_up: Annotated[
        bool, typer.Option(help="Ramp the daily volume up from today (DRIPLINE_WARMUP_SCHEDULE).")
    ] = True,
) -> None:
    """Send the workspace's mail as DOMAIN: generates a DKIM key and prints the DNS records to publish."""
    try:
        identity = new_identity(
            workspace, domain, today=datetime.now(UTC).date(), from_name=from_name, from_address=from_address,
            reply_to=reply_to, postal_address=postal_address, tracking_domain=tracking_domain, warm_up=warm_up,
        )  # fmt: skip
    except IdentityError as error:
        raise typer.BadParameter(str(error), param_hint=f"--{error.field.replace('_', '-')}") from error

    async def work(store: SendingIdentityStore, connection: asyncpg.Connection) -> bool:
        if not await connection.fetchval("SELECT true FROM workspaces WHERE id = $1", workspace):
            return False
        await store.save(identity)
        return True

    if not _run(work):
        raise typer.BadParameter(f"no workspace {workspace!r}", param_hint="WORKSPACE")
    console.print(
        f"Workspace [bold]{workspace}[/bold] now sends as {identity.from_name} <{identity.from_address}>, "
        f"signed with DKIM selector {identity.dkim_selector}. Publish these records, then run "
        f"`dripline domains verify {workspace} {identity.sending_domain}`:",
        highlight=False,
    )
    console.print(_record_table(_records(identity)))
    if identity.warmup_started_on:
        console.print(
            "The domain warms up from today: see DRIPLINE_WARMUP_SCHEDULE for each day's volume.", style="dim"
        )


@domains_app.command("verify")
def verify(
    workspace: Annotated[str, typer.Argument(help="Workspace id.")],
    domain: Annotated[str, typer.Argument(help="The domain given to `dripline domains add`.")],
    nameserver: Annotated[
        str | None,
        typer.Option(
            help="Ask this DNS server (host or host:port). Default: DRIPLINE_DNS_NAMESERVERS, else the system's."
        ),
    ] = None,
) -> None:
    """Check that DNS has each record `dripline domains add` printed; exits 1 naming those it has not."""
    resolver = resolver_for(nameserver or SenderSettings().dns_nameservers)

    async def work(store: SendingIdentityStore, _: asyncpg.Connection) -> tuple[SendingIdentity | None, list[DnsCheck]]:
        identity = await store.get(workspace)
        if identity is None or identity.sending_domain != domain.lower().rstrip("."):
            return identity, []
        checks = await check_records(_records(identity), resolver)
        if all(check.ok for check in checks):
            await store.mark_verified(workspace, datetime.now(UTC))
        return identity, checks

    identity, checks = _run(work)
    if identity is None or not checks:
        held = f"it sends as {identity.sending_domain}" if identity else "it has no sending domain"
        raise typer.BadParameter(f"workspace {workspace!r} has not added {domain} ({held})", param_hint="DOMAIN")
    console.print(_record_table([check.record for check in checks], checks))
    missing = [check.record.purpose for check in checks if not check.ok]
    if missing:
        console.print(f"Not published yet: {', '.join(missing)}. DNS changes can take a while to show.", style="red")
        raise typer.Exit(1)
    console.print(f"{domain}: every record is published.", style="green")


@domains_app.command("list")
def list_domains() -> None:
    """Every workspace's sending identity."""

    async def work(store: SendingIdentityStore, _: asyncpg.Connection) -> list[SendingIdentity]:
        return await store.all()

    table = Table("workspace", "from", "reply-to", "domain", "selector", "tracking", "warm-up since", "verified")
    for i in _run(work):
        table.add_row(
            i.workspace_id, f"{i.from_name} <{i.from_address}>", i.reply_to or "", i.sending_domain, i.dkim_selector,
            i.tracking_domain or "", str(i.warmup_started_on or ""),
            f"{i.verified_at:%Y-%m-%d %H:%M}" if i.verified_at else "no",
        )  # fmt: skip
    console.print(table)
