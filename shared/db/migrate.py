"""Applies Alembic migrations; every service start and the migration job call this."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.db.url import sqlalchemy_url
from shared.settings import CommonSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(settings: CommonSettings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(settings).replace("%", "%%"))
    return config


def upgrade(settings: CommonSettings, revision: str = "heads") -> None:
    """Each area of the product keeps its own migration branch off the foundation; apply them all."""
    command.upgrade(alembic_config(settings), revision)


async def upgrade_async(settings: CommonSettings) -> None:
    """Alembic's env runs its own event loop, so it goes to a thread."""
    await asyncio.to_thread(upgrade, settings)
