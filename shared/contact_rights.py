"""A person's rights over their data, exercised the same way through the API, the console and the command:
erasure (GDPR article 17) and export (articles 15 and 20), each written to the audit log with who asked.

The work is `shared/contact_data.py`'s and `shared/contact_export.py`'s; the audit entry is written in the
same transaction as the erasure, so an erasure is never without its entry. The entry names the contact by
id only (the audit log holds no profile), which is what proves later that the erasure was done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from shared.audit import record_change
from shared.contact_data import erase_contact
from shared.contact_export import export_document
from shared.contract.audit import Via
from shared.contract.contacts import contact_key
from shared.contract.erasure import erasure_notice
from shared.contract.topics import CONTACTS, ERASED
from shared.kafka.producer import OutgoingRecord

ERASED_ACTION, EXPORTED_ACTION = "contact.erased", "contact.exported"


async def erase_recorded(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, *, actor: str, via: Via
) -> dict[str, int] | None:
    """Erase in the caller's transaction and write the audit entry; None (and no entry) when the
    workspace holds nothing under the id. The caller then publishes `erasure_records`."""
    removed = await erase_contact(connection, workspace_id, contact_id)
    if not any(removed.values()):
        return None
    detail = {"rows": sum(removed.values()), "tables": len([n for n in removed.values() if n])}
    await record_change(
        connection, workspace_id, actor=actor, via=via, action=ERASED_ACTION, target=contact_id, detail=detail
    )
    return removed


async def export_recorded(
    connection: asyncpg.Connection, workspace_id: str, contact_id: str, *, actor: str, via: Via
) -> dict[str, Any] | None:
    """The contact's export, its audit entry written; None (and no entry) when nothing is held."""
    document = await export_document(connection, workspace_id, contact_id)
    if document is not None:
        tables = len(document["data"])
        await record_change(
            connection, workspace_id, actor=actor, via=via, action=EXPORTED_ACTION, target=contact_id,
            detail={"tables": tables},
        )  # fmt: skip
    return document


def erasure_records(workspace_id: str, contact_id: str, now: datetime) -> list[OutgoingRecord]:
    """What tells the bus: the tombstone on contacts.changes (a null value under the contact's key, which
    names its workspace; the headers say the same for consumers that would rather not split the key), and
    the `contacts.erased` notice every other consumer acts on."""
    headers = [("op", b"erase"), ("workspace-id", workspace_id.encode()), ("contact-id", contact_id.encode())]
    tombstone = OutgoingRecord(CONTACTS, contact_key(workspace_id, contact_id), None, headers)
    return [tombstone, OutgoingRecord.of(ERASED, erasure_notice(workspace_id, contact_id, now))]
