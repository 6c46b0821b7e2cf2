"""`dripline secrets generate|check`: fresh values for the secrets that have built-in ones, and a check
of those set, by the rules a production service starts with."""

from __future__ import annotations

import typer

from shared.secret_rules import SERVICE_SETTINGS, fresh_secrets, secret_problems

secrets_app = typer.Typer(no_args_is_help=True)


@secrets_app.command("generate")
def generate() -> None:
    """Print fresh values as environment lines (NAME=value): for .env, or a Secret's --from-env-file."""
    typer.echo(
        "# DRIPLINE_DEMO_API_KEY is read by `dripline run` only; API keys of workspaces: `dripline keys create`."
    )
    for name, value in fresh_secrets().items():
        typer.echo(f"{name}={value}")


@secrets_app.command("check")
def check() -> None:
    """Exit 1, naming each secret in this environment a production service would refuse to start with."""
    problems = sorted(
        {problem for settings in SERVICE_SETTINGS for problem in secret_problems(settings(environment="production"))}
    )
    for problem in problems:
        typer.echo(problem)
    if problems:
        raise typer.Exit(1)
    typer.echo("Every secret would be accepted in production.")
