"""Versioned templates in PostgreSQL: publishing changed source adds a version; the latest one sends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.sender.domain.rendering.template import Template, load_template


@dataclass(frozen=True)
class StoredTemplate:
    template_id: str
    version: int
    source: str
    created_at: datetime

    def load(self) -> Template:
        return load_template(self.source)


@dataclass(frozen=True)
class Published:
    template: StoredTemplate
    changed: bool


_LATEST = """
SELECT DISTINCT ON (template_id) template_id, version, source, created_at FROM templates
WHERE workspace_id = $1 AND ($2::text IS NULL OR template_id = $2)
ORDER BY template_id, version DESC
"""


def _stored(row: asyncpg.Record) -> StoredTemplate:
    return StoredTemplate(row["template_id"], row["version"], row["source"], row["created_at"])


class TemplateStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def publish(self, workspace_id: str, source: str) -> Published:
        """Store `source` as the next version unless it equals the latest (`TemplateError` if invalid)."""
        template = load_template(source)
        async with self._pool.acquire() as connection, connection.transaction():
            # Serialises concurrent publishes of one template so versions never collide.
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))", workspace_id, template.id
            )
            row = await connection.fetchrow(_LATEST, workspace_id, template.id)
            if row is not None and row["source"] == source:
                return Published(_stored(row), changed=False)
            version = 1 if row is None else row["version"] + 1
            created = await connection.fetchrow(
                "INSERT INTO templates (workspace_id, template_id, version, source) VALUES ($1, $2, $3, $4) "
                "RETURNING template_id, version, source, created_at",
                workspace_id,
                template.id,
                version,
                source,
            )
            assert created is not None
            return Published(_stored(created), changed=True)

    async def latest(self, workspace_id: str, template_id: str) -> StoredTemplate | None:
        row = await self._pool.fetchrow(_LATEST, workspace_id, template_id)
        return None if row is None else _stored(row)

    async def latest_many(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], StoredTemplate]:
        """The latest version of each (workspace, template) in one round trip; unknown ones are left out."""
        if not keys:
            return {}
        rows = await self._pool.fetch(
            "SELECT DISTINCT ON (t.workspace_id, t.template_id) t.workspace_id, t.template_id, t.version, t.source, "
            "t.created_at FROM templates t JOIN unnest($1::text[], $2::text[]) AS k(workspace_id, template_id) "
            "ON t.workspace_id = k.workspace_id AND t.template_id = k.template_id "
            "ORDER BY t.workspace_id, t.template_id, t.version DESC",
            [workspace for workspace, _ in keys],
            [template for _, template in keys],
        )
        return {(row["workspace_id"], row["template_id"]): _stored(row) for row in rows}

    async def all_latest(self, workspace_id: str | None = None) -> list[tuple[str, StoredTemplate]]:
        """(workspace, template) for every template's latest version, of one workspace or of all."""
        rows = await self._pool.fetch(
            "SELECT DISTINCT ON (workspace_id, template_id) workspace_id, template_id, version, source, created_at "
            "FROM templates WHERE $1::text IS NULL OR workspace_id = $1 "
            "ORDER BY workspace_id, template_id, version DESC",
            workspace_id,
        )
        return [(row["workspace_id"], _stored(row)) for row in rows]
