"""Erasure on the bus: the notice downstream systems act on, and how long a tombstone takes to work.

`contacts.erased` tells every consumer that a contact was erased (workspace, contact id, when),
with no personal data, so systems that copied a profile or keyed their own data by the contact id
erase too (docs/analysts.md). The profile topic's own tombstone does the same for consumers of
`contacts.changes`; its configuration bounds how long the broker keeps the profiles it replaces.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import Field

from shared.contract.envelope import Envelope

HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS
# A tombstone stays a week after compaction: a consumer down that long still sees it (and the notice lasts 30 days).
TOMBSTONE_RETENTION_MS = 7 * DAY_MS


class ContactErased(Envelope):
    """A contact was erased in Dripline: forget everything kept under this workspace and contact id."""

    erased_at: datetime = Field(description="When Dripline erased the contact (UTC).")


def erasure_notice_id(workspace_id: str, contact_id: str) -> str:
    """One id per erased contact, so a repeated erasure's notice is dropped as a repeat."""
    digest = hashlib.blake2b(f"{workspace_id}\x1f{contact_id}".encode(), digest_size=16).hexdigest()
    return f"erased-{digest}"


def erasure_notice(workspace_id: str, contact_id: str, erased_at: datetime) -> ContactErased:
    return ContactErased(
        event_id=erasure_notice_id(workspace_id, contact_id),
        workspace_id=workspace_id,
        contact_id=contact_id,
        occurred_at=erased_at,
        received_at=erased_at,
        erased_at=erased_at,
    )


def compaction_config(deadline_hours: float) -> dict[str, str]:
    """A compacted topic whose superseded records (a profile before its tombstone) are gone within the deadline.

    Kafka never compacts the active segment; it rolls it on the first append once it is `segment.ms`
    old (for a compacted topic, `max.compaction.lag.ms` if sooner), and the cleaner must then compact a
    record at the latest `max.compaction.lag.ms` after it was written, however clean the log looks.
    A quarter and a half of the deadline leave the other quarter for a busy cleaner. A low
    `min.cleanable.dirty.ratio` makes cleaning start early anyway.
    """
    deadline_ms = int(deadline_hours * HOUR_MS)
    return {
        "cleanup.policy": "compact",
        "segment.ms": str(deadline_ms // 4),
        "max.compaction.lag.ms": str(deadline_ms // 2),
        "min.cleanable.dirty.ratio": "0.1",
        "delete.retention.ms": str(TOMBSTONE_RETENTION_MS),
    }
