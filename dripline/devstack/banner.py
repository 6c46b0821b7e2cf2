"""What `make run` prints once the stack is up: every URL a person needs and a first curl."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from dripline.devstack.stack import LocalStack, service_ports


def print_banner(console: Console, stack: LocalStack, broker: str, database: str) -> None:
    inbox = stack.settings.inbox_http_port
    ports = service_ports()
    table = Table(title="Dripline local stack", title_justify="left")
    table.add_column("what")
    table.add_column("where")
    table.add_row("Ingest API docs", f"http://127.0.0.1:{ports['ingest']}/docs")
    table.add_row("Inbox (emails Dripline sent)", f"http://127.0.0.1:{inbox}/")
    table.add_row("Console (flows, people, audit log)", f"http://127.0.0.1:{ports['scheduler']}/console")
    if stack.console_login:
        table.add_row("Console sign-in (new password each run)", " / ".join(stack.console_login))
    for name, port in ports.items():
        table.add_row(f"{name} health", f"http://127.0.0.1:{port}/readyz")
    table.add_row("SMTP inbox", f"127.0.0.1:{stack.settings.inbox_smtp_port}")
    table.add_row("Kafka bootstrap", broker)
    if stack.broker is not None:
        table.add_row("Broker (Tansu, memory only)", f"pid {stack.broker.pid}; restarted with its topics if it exits")
    table.add_row("PostgreSQL", database)
    table.add_row("Demo workspace API key", stack.settings.demo_api_key.get_secret_value())
    table.add_row("Logs", str(stack.logs_dir))
    console.print(table)
    key = stack.settings.demo_api_key.get_secret_value()
    console.print("Post a sign-up:", style="bold")
    console.print(
        f"curl -s -X POST http://127.0.0.1:{ports['ingest']}/v1/events "
        f"-H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
        """-d '{"type":"signup","contact":{"email":"kari@example.com","first_name":"Kari"},"""
        """"source":"newsletter-form","consent":{"marketing":true,"topics":["newsletter"]}}'""",
        soft_wrap=True,
        highlight=False,
    )
    console.print("Ctrl-C stops everything.", style="dim")
