"""A person's data export (GDPR articles 15 and 20): everything stored about them, as one JSON document.

Every table holding rows under the workspace and contact id comes in whole (`shared/contact_data.py`
finds them by their columns, so a table added later is exported without being listed): the profile,
consent entries with their evidence, subscriptions, enrollments and timers, messages with the subject
each was sent with, engagement, history. Suppressions are kept by keyed hash, not by contact, so they
are found through the identifiers the contact holds. The whole of a workspace streams one contact at a
time (`dripline contacts export --all`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi.encoders import jsonable_encoder

from shared.consent import store as consent
from shared.contact_data import export_contact
from shared.customer_facts_table import load_facts

_IDENTITY_HASHES = "SELECT value_hash FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2"
_CONTACTS_AFTER = (
    "SELECT contact_id FROM contacts WHERE workspace_id = $1 AND contact_id > $2 ORDER BY contact_id LIMIT $3"
)
_COUNT = "SELECT count(*) FROM contacts WHERE workspace_id = $1"


async def export_document(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> dict[str, Any] | None:
    """The export of one contact, or None when the workspace holds nothing under the id."""
    data = await export_contact(connection, workspace_id, contact_id)
    if not data:
        return None
    hashes = [bytes(row["value_hash"]) for row in await connection.fetch(_IDENTITY_HASHES, workspace_id, contact_id)]
    suppressions = [
        {
            "scope": row["scope"],
            "reason": row["reason"],
            "source": row["source"],
            "since": row["created_at"].isoformat(),
        }
        for row in await consent.suppressions_of(connection, workspace_id, hashes)
    ]
    now = datetime.now(UTC)
    # The facts as flows, segments and templates read them now (engagement, the last 30 days' messages),
    # beside the stored rows they are worked out from (`data.contact_facts`, `data.contact_orders`).
    facts = (await load_facts(connection, [(workspace_id, contact_id)], now))[(workspace_id, contact_id)]
    return {
        "contact_id": contact_id,
        "workspace_id": workspace_id,
        "exported_at": now.isoformat(),
        "data": data,
        "facts": jsonable_encoder(facts.value(now)),
        "suppressions": suppressions,
    }


async def contact_count(connection: asyncpg.Connection, workspace_id: str) -> int:
    count: int = await connection.fetchval(_COUNT, workspace_id)
    return count


async def export_workspace(
    connection: asyncpg.Connection, workspace_id: str, *, page: int = 500
) -> AsyncIterator[dict[str, Any]]:
    """Every contact's export, in contact id order, reading a page of ids at a time."""
    after = ""
    while True:
        ids = [row["contact_id"] for row in await connection.fetch(_CONTACTS_AFTER, workspace_id, after, page)]
        for contact_id in ids:
            document = await export_document(connection, workspace_id, contact_id)
            if document is not None:
                yield document
        if len(ids) < page:
            return
        after = ids[-1]
