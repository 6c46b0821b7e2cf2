"""Published flows: immutable versions plus a head row (current version, paused).

Parsed versions are cached in-process forever: a (workspace, flow, version) never changes.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.scheduler.adapters.overrides import Winners
from services.scheduler.domain import Flow, FlowProblem, check_flow, load_flow
from services.scheduler.domain.message_checks import message_problems
from services.scheduler.domain.steps import SendStep
from services.scheduler.domain.triggers import DateTrigger
from shared.published import known_attributes, latest_template_sources


@dataclass(frozen=True)
class FlowHead:
    workspace_id: str
    flow_id: str
    name: str
    current_version: int
    paused: bool
    date_triggered: bool
    updated_at: datetime


@dataclass(frozen=True)
class Published:
    """The answer to a publish: the version now current, and whether this call created it."""

    flow: Flow | None
    created: bool
    problems: list[FlowProblem]


_HEAD_COLUMNS = "workspace_id, flow_id, name, current_version, paused, date_triggered, updated_at"


def _head(row: asyncpg.Record) -> FlowHead:
    return FlowHead(**dict(row))


class FlowCatalog:
    def __init__(self, cache_size: int = 5000) -> None:
        self._cache: OrderedDict[tuple[str, str, int], Flow] = OrderedDict()
        self._cache_size = cache_size
        self._winners = Winners()

    async def publish(self, connection: asyncpg.Connection, workspace_id: str, source: str, file: str) -> Published:
        """Store a new version unless the source is identical to the current one (then nothing changes).

        Refused with problems when the flow is invalid, or when its notify payloads or the templates it
        sends use variables it cannot provide (see `domain/message_checks.py`)."""
        parsed, problems = check_flow(source, file)
        if parsed is None or problems:
            return Published(None, False, problems)
        problems = await self._message_problems(connection, workspace_id, parsed, source, file)
        if problems:
            return Published(None, False, problems)
        digest = hashlib.sha256(source.encode()).digest()
        async with connection.transaction():
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"flow/{workspace_id}/{parsed.id}"
            )
            current = await connection.fetchrow(
                "SELECT v.version, v.source_hash FROM flows f JOIN flow_versions v "
                "ON v.workspace_id = f.workspace_id AND v.flow_id = f.flow_id AND v.version = f.current_version "
                "WHERE f.workspace_id = $1 AND f.flow_id = $2",
                workspace_id,
                parsed.id,
            )
            if current is not None and bytes(current["source_hash"]) == digest:
                return Published(parsed.model_copy(update={"version": current["version"]}), False, [])
            version = await connection.fetchval(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM flow_versions WHERE workspace_id = $1 AND flow_id = $2",
                workspace_id,
                parsed.id,
            )
            await connection.execute(
                "INSERT INTO flow_versions (workspace_id, flow_id, version, source, source_hash) "
                "VALUES ($1, $2, $3, $4, $5)",
                workspace_id,
                parsed.id,
                version,
                source,
                digest,
            )
            await connection.execute(
                "INSERT INTO flows (workspace_id, flow_id, name, current_version, date_triggered) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, flow_id) DO UPDATE SET "
                "name = EXCLUDED.name, current_version = EXCLUDED.current_version, "
                "date_triggered = EXCLUDED.date_triggered, updated_at = now()",
                workspace_id,
                parsed.id,
                parsed.name,
                version,
                any(isinstance(trigger, DateTrigger) for trigger in parsed.triggers),
            )
        return Published(parsed.model_copy(update={"version": version}), True, [])

    async def _message_problems(
        self, connection: asyncpg.Connection, workspace_id: str, flow: Flow, source: str, file: str
    ) -> list[FlowProblem]:
        """What the flow's messages print that it cannot provide: its payloads, and its templates already published."""
        wanted = sorted({step.template for step in flow.steps if isinstance(step, SendStep)})
        templates = await latest_template_sources(connection, workspace_id, wanted)
        attributes = await known_attributes(connection, workspace_id)
        sources = {template_id: (f"{template_id}.yaml", text) for template_id, text in templates.items()}
        return message_problems(flow, source, file, sources, attributes)

    async def heads(self, connection: asyncpg.Connection, workspace_ids: Sequence[str]) -> dict[str, list[FlowHead]]:
        rows = await connection.fetch(
            f"SELECT {_HEAD_COLUMNS} FROM flows WHERE workspace_id = ANY($1::text[]) ORDER BY flow_id",
            list(set(workspace_ids)),
        )
        found: dict[str, list[FlowHead]] = {}
        for row in rows:
            found.setdefault(row["workspace_id"], []).append(_head(row))
        return found

    async def head(self, connection: asyncpg.Connection, workspace_id: str, flow_id: str) -> FlowHead | None:
        row = await connection.fetchrow(
            f"SELECT {_HEAD_COLUMNS} FROM flows WHERE workspace_id = $1 AND flow_id = $2", workspace_id, flow_id
        )
        return _head(row) if row else None

    async def set_paused(self, connection: asyncpg.Connection, workspace_id: str, flow_id: str, paused: bool) -> bool:
        status = await connection.execute(
            "UPDATE flows SET paused = $3, updated_at = now() WHERE workspace_id = $1 AND flow_id = $2",
            workspace_id,
            flow_id,
            paused,
        )
        return str(status).endswith(" 1")

    async def source(self, connection: asyncpg.Connection, workspace_id: str, flow_id: str, version: int) -> str | None:
        value = await connection.fetchval(
            "SELECT source FROM flow_versions WHERE workspace_id = $1 AND flow_id = $2 AND version = $3",
            workspace_id,
            flow_id,
            version,
        )
        return str(value) if value is not None else None

    async def versions(self, connection: asyncpg.Connection, workspace_id: str, flow_id: str) -> list[asyncpg.Record]:
        return list(
            await connection.fetch(
                "SELECT version, published_at FROM flow_versions WHERE workspace_id = $1 AND flow_id = $2 "
                "ORDER BY version",
                workspace_id,
                flow_id,
            )
        )

    async def flow(self, connection: asyncpg.Connection, workspace_id: str, flow_id: str, version: int) -> Flow | None:
        """One published version, parsed once per process."""
        key = (workspace_id, flow_id, version)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return await self._winners.apply(connection, workspace_id, cached)
        text = await self.source(connection, workspace_id, flow_id, version)
        if text is None:
            return None
        parsed = load_flow(text, f"{flow_id}@v{version}").model_copy(update={"version": version})
        self._cache[key] = parsed
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return await self._winners.apply(connection, workspace_id, parsed)
