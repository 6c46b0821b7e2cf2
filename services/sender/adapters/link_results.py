"""The link check's last results (`link_checks`): each checked template's rows replaced by what was found."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import asyncpg

_FORGET = """
DELETE FROM link_checks c USING unnest($1::text[], $2::text[]) AS t(workspace_id, template_id)
WHERE c.workspace_id = t.workspace_id AND c.template_id = t.template_id
"""
_SAVE = """
INSERT INTO link_checks (workspace_id, template_id, url, status, problem, checked_at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (workspace_id, template_id, url) DO UPDATE SET status = EXCLUDED.status, problem = EXCLUDED.problem,
    checked_at = EXCLUDED.checked_at
"""
_OF_TEMPLATE = "SELECT url, status, problem, checked_at FROM link_checks WHERE workspace_id = $1 AND template_id = $2"


class Checked(Protocol):
    @property
    def workspace_id(self) -> str: ...
    @property
    def template_id(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def problem(self) -> str | None: ...


async def save_results(pool: asyncpg.Pool, results: Sequence[Checked], checked_at: datetime) -> None:
    templates = sorted({(result.workspace_id, result.template_id) for result in results})
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(_FORGET, [w for w, _ in templates], [t for _, t in templates])
        await connection.executemany(
            _SAVE, [(r.workspace_id, r.template_id, r.url, r.status, r.problem, checked_at) for r in results]
        )


async def results_of(pool: asyncpg.Pool, workspace_id: str, template_id: str) -> dict[str, dict[str, Any]]:
    """URL -> its last result (status, problem, checked_at)."""
    rows = await pool.fetch(_OF_TEMPLATE, workspace_id, template_id)
    return {row["url"]: {k: row[k] for k in ("status", "problem", "checked_at")} for row in rows}
