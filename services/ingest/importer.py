"""Importing an existing list: each row identified like an API call, consent recorded with source `import`.

Rows without consent get a profile and no subscription, so no marketing reaches them;
addresses that were erased or hard-bounced are skipped and reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from services.ingest.adapters.consent import record_consent
from services.ingest.domain.consent import ALL_MARKETING, ConsentOutcome, LedgerEntry
from services.ingest.domain.imports import ImportRow, RejectedRow
from services.ingest.intake import Intake
from shared.contact_data import is_suppressed


@dataclass
class ImportReport:
    imported: int = 0
    with_consent: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


def import_consent(topics: list[str], policy_version: str | None, now: datetime) -> ConsentOutcome:
    scopes = [ALL_MARKETING, *sorted(set(topics))]
    entries = [LedgerEntry("grant", scope, "import", now, policy_version=policy_version) for scope in scopes]
    return ConsentOutcome(entries, dict.fromkeys(scopes, "subscribed"), None, ask_for_confirmation=False)


async def import_rows(
    intake: Intake,
    pool: asyncpg.Pool,
    workspace_id: str,
    rows: Iterable[ImportRow | RejectedRow],
    *,
    batch_id: str,
    policy_version: str | None,
    progress: Callable[[], None] = lambda: None,
) -> ImportReport:
    report = ImportReport()
    for row in rows:
        progress()
        if isinstance(row, RejectedRow):
            report.rejected.append(row)
            continue
        if row.contact.email and await is_suppressed(pool, workspace_id, row.contact.email):
            report.rejected.append(RejectedRow(row.line, "suppressed: this address was erased or bounced"))
            continue
        contact_id, _ = await intake.identify(workspace_id, row.contact)
        report.imported += 1
        if row.consent:
            outcome = import_consent(row.topics, policy_version, datetime.now(UTC))
            async with pool.acquire() as connection, connection.transaction():
                await record_consent(connection, workspace_id, contact_id, f"{batch_id}:{row.line}", outcome)
            report.with_consent += 1
    return report


def new_batch_id() -> str:
    return f"import-{uuid.uuid4().hex[:12]}"
