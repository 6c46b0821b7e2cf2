"""One database URL, in the forms each library wants."""

from __future__ import annotations

from shared.errors import ConfigurationError
from shared.settings import CommonSettings


def database_url(settings: CommonSettings) -> str:
    """The plain `postgresql://` URL (asyncpg's form)."""
    if not settings.database_url:
        raise ConfigurationError(
            "DATABASE_URL is not set: start the local stack with `make run`, or point it at PostgreSQL"
        )
    url = settings.database_url
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql://" + url[len(prefix) :]
    return url


def sqlalchemy_url(settings: CommonSettings) -> str:
    return "postgresql+asyncpg://" + database_url(settings)[len("postgresql://") :]
