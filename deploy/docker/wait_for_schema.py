"""Init container: wait until the database schema has every migration this image ships.

Services never migrate on start (replicas would race); the migration job does. This keeps a new
version's pods from starting on an old schema during an upgrade.
"""

from __future__ import annotations

import asyncio
import sys
import time

import asyncpg
from alembic.script import ScriptDirectory

from shared.db.migrate import alembic_config
from shared.db.url import database_url
from shared.settings import CommonSettings

POLL_SECONDS = 2.0


def scripts(settings: CommonSettings) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(settings))


def pending(script: ScriptDirectory, applied: set[str]) -> set[str]:
    """Heads this image ships that the database has not reached (alembic_version: one row per branch).

    A revision this image does not know is a newer release's: migrations only expand the schema,
    so an older pod (a rollback, a restart mid-upgrade) may run on it.
    """
    known = {revision.revision for revision in script.walk_revisions()}
    if applied - known:
        return set()
    reached = {revision.revision for revision in script.iterate_revisions(tuple(applied), "base")} if applied else set()
    return set(script.get_heads()) - reached


async def applied_heads(url: str) -> set[str]:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        rows = await connection.fetch("SELECT version_num FROM alembic_version")
    except asyncpg.UndefinedTableError:
        return set()
    finally:
        await connection.close()
    return {row["version_num"] for row in rows}


async def wait(settings: CommonSettings, timeout: float) -> bool:
    script = scripts(settings)
    deadline = time.monotonic() + timeout
    while True:
        try:
            waiting = pending(script, await applied_heads(database_url(settings)))
        except (TimeoutError, OSError, asyncpg.PostgresError) as error:
            waiting = {f"(database unreachable: {type(error).__name__})"}
        if not waiting:
            return True
        if time.monotonic() > deadline:
            sys.stderr.write(f"schema not ready after {timeout:.0f}s; waiting for {sorted(waiting)}\n")
            return False
        await asyncio.sleep(POLL_SECONDS)


def main(argv: list[str]) -> int:
    timeout = float(argv[0]) if argv else 600.0
    return 0 if asyncio.run(wait(CommonSettings(), timeout)) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
