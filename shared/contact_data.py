"""Everything held about one contact, wherever it is: for export (GDPR access) and erasure.

Tables are found by their columns (`workspace_id` and `contact_id`), not by a list kept by
hand, so a table added by a later migration is exported and erased without anyone
remembering to register it. The few tables with special rules are named below.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from shared.consent import store as consent
from shared.identity import IdentifierKind, contact_id_hash, identifier_hash
from shared.outbox import drop_waiting

# Proof of consent stays (an auditor may ask why someone was mailed) but loses its personal details.
KEPT_BLANKED = {"consent_ledger": consent.blank_ledger_proof}
# Hashes only, and what makes an erased address impossible to mail again.
NEVER_ERASED = {"suppressions"}

_TABLES = """
SELECT table_name FROM information_schema.columns
WHERE table_schema = current_schema() AND column_name IN ('workspace_id', 'contact_id')
GROUP BY table_name HAVING count(*) = 2 ORDER BY table_name
"""


_IDENTITIES = "SELECT value_hash FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2"


async def contact_tables(connection: asyncpg.Connection) -> list[str]:
    return [row["table_name"] for row in await connection.fetch(_TABLES)]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return None  # hashes and raw bytes mean nothing to a person
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


async def export_contact(connection: asyncpg.Connection, workspace_id: str, contact_id: str) -> dict[str, Any]:
    """Every row about the contact, table by table, as plain JSON values."""
    document: dict[str, Any] = {}
    for table in await contact_tables(connection):
        rows = await connection.fetch(
            f'SELECT * FROM "{table}" WHERE workspace_id = $1 AND contact_id = $2', workspace_id, contact_id
        )
        if rows:
            document[table] = [
                {key: _plain(value) for key, value in row.items() if key not in ("workspace_id", "contact_id")}
                for row in rows
            ]
    return document


async def erase_contact(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, *, reason: str = "erased"
) -> dict[str, int]:
    """Remove the contact's personal data everywhere; keep only a hashed suppression. Run in a transaction."""
    profile_json = await connection.fetchval(
        "SELECT profile FROM contacts WHERE workspace_id = $1 AND contact_id = $2", workspace_id, contact_id
    )
    profile = json.loads(profile_json) if profile_json else {}
    identifiers: list[tuple[IdentifierKind, str]] = [
        (kind, profile[kind]) for kind in ("email", "phone", "external_id") if profile.get(kind)
    ]
    # Every identifier the person was known by stays behind as a keyed hash: what keeps them erased.
    hashes = {identifier_hash(workspace_id, kind, value) for kind, value in identifiers}
    hashes.add(contact_id_hash(workspace_id, contact_id))
    hashes.update(bytes(row["value_hash"]) for row in await connection.fetch(_IDENTITIES, workspace_id, contact_id))
    for address_hash in sorted(hashes):
        await consent.suppress_erased(connection, workspace_id, address_hash, reason)
    removed: dict[str, int] = {}
    await connection.execute("SET LOCAL dripline.erasure = 'on'")
    for table in await contact_tables(connection):
        if table in NEVER_ERASED:
            continue
        if table in KEPT_BLANKED:
            status = await KEPT_BLANKED[table](connection, workspace_id, contact_id)
        else:
            status = await connection.execute(
                f'DELETE FROM "{table}" WHERE workspace_id = $1 AND contact_id = $2', workspace_id, contact_id
            )
        count = int(str(status).rsplit(" ", 1)[-1])
        if count:
            removed[table] = count
    # Records about this workspace's contact still waiting to be relayed (messages about to be requested,
    # profile updates); the same id in another workspace is another person.
    removed["outbox"] = await drop_waiting(connection, workspace_id, contact_id)
    return removed


async def is_suppressed(connection: asyncpg.Connection | asyncpg.Pool, workspace_id: str, email: str) -> bool:
    hashes = [identifier_hash(workspace_id, "email", email)]
    return bool(await consent.suppressed_among(connection, workspace_id, hashes))
