"""Applies Alembic migrations, then the identifier keys; the migration job (`dripline migrate`) calls this."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config

from shared.db.url import database_url, sqlalchemy_url
from shared.identity import identifier_keys_from_setting
from shared.identity_keys import apply_keys
from shared.settings import CommonSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(settings: CommonSettings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(settings).replace("%", "%%"))
    return config


def upgrade(settings: CommonSettings, revision: str = "heads") -> None:
    """Each area of the product keeps its own migration branch off the foundation; apply them all.

    Then the stored identifier hashes are carried to any key added to DRIPLINE_IDENTIFIER_KEYS: only
    code that runs with the settings can know the secret (docs/privacy.md)."""
    command.upgrade(alembic_config(settings), revision)
    if revision == "heads":
        asyncio.run(apply_identifier_keys(settings))


async def apply_identifier_keys(settings: CommonSettings) -> list[str]:
    connection = await asyncpg.connect(database_url(settings))
    try:
        return await apply_keys(connection, identifier_keys_from_setting(settings.identifier_keys))
    finally:
        await connection.close()


async def upgrade_async(settings: CommonSettings) -> None:
    """Alembic's env runs its own event loop, so it goes to a thread."""
    await asyncio.to_thread(upgrade, settings)
