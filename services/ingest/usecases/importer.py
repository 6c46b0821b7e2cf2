"""Importing an existing list: rows identified like API calls, consent recorded with source `import`.

Rows without consent get a profile and no subscription, so no marketing reaches them;
addresses that were erased or hard-bounced are skipped and reported. Rows go in chunks: one
suppression lookup, one grouped write and one broker wait per chunk, so a large list costs
a few round trips per few hundred rows instead of several per row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from services.ingest.domain.imports import (
    CHUNK_ROWS,
    SUPPRESSED,
    ImportRow,
    RejectedRow,
    address_hashes,
    chunked,
    identification,
    plan_chunk,
)
from services.ingest.usecases.intake import Intake
from shared.consent.store import suppressed_among


@dataclass
class ImportReport:
    imported: int = 0
    with_consent: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


async def import_rows(
    intake: Intake,
    pool: asyncpg.Pool,
    workspace_id: str,
    rows: Iterable[ImportRow | RejectedRow],
    *,
    batch_id: str,
    policy_version: str | None,
    progress: Callable[[], None] = lambda: None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportReport:
    report = ImportReport()
    for chunk in chunked(rows, chunk_rows):
        addresses = address_hashes(workspace_id, chunk)
        plan = plan_chunk(chunk, addresses, await suppressed_among(pool, workspace_id, list(addresses.values())))
        now = datetime.now(UTC)
        calls = [identification(row, batch_id=batch_id, policy_version=policy_version, now=now) for row in plan.write]
        written = await intake.identify_all(workspace_id, calls, what="import")
        # A row naming an erased person by phone or the shop's id (the address check above sees only emails).
        erased = [row for row, outcome in zip(plan.write, written, strict=True) if outcome is None]
        report.imported += len(plan.write) - len(erased)
        report.with_consent += sum(
            1 for row, outcome in zip(plan.write, written, strict=True) if row.consent and outcome
        )
        late = [RejectedRow(row.line, SUPPRESSED) for row in erased]
        report.rejected.extend(sorted([*plan.rejected, *late], key=lambda row: row.line))
        for _ in chunk:
            progress()
    return report


def new_batch_id() -> str:
    return f"import-{uuid.uuid4().hex[:12]}"
