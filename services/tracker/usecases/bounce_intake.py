"""Permanent bounces stop all mail to an address and close the message's story on the bus.

Temporary bounces are only counted: the sender's retry schedule owns those.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import compat32

from services.tracker.adapters.consent import ConsentStore
from shared.bounces import Bounce
from shared.contract.internal import MessageStatus
from shared.contract.topics import MESSAGES_STATUS
from shared.kafka.producer import OutgoingRecord, Producer

__all__ = ["BounceIntake", "BounceOutcome", "original_message_id"]

_MESSAGE_ID = re.compile(r"<([A-Za-z0-9._:-]{1,128})@[^>]+>")


def original_message_id(raw: bytes) -> str | None:
    """Our message id from the returned original's `Message-ID: <id@domain>`, when the DSN includes it."""
    mail = message_from_bytes(raw, policy=compat32)
    for part in mail.walk():
        if part.get_content_type() not in ("message/rfc822", "text/rfc822-headers"):
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            header = payload[0].get("Message-ID")
        else:
            raw_headers = part.get_payload(decode=True)
            headers = message_from_bytes(raw_headers if isinstance(raw_headers, bytes) else b"", policy=compat32)
            header = headers.get("Message-ID")
        found = _MESSAGE_ID.search(str(header or ""))
        if found:
            return found.group(1)
    return None


@dataclass(frozen=True, slots=True)
class BounceOutcome:
    suppressed: int
    temporary: int
    statuses: int


class BounceIntake:
    def __init__(self, store: ConsentStore, producer: Producer) -> None:
        self._store = store
        self._producer = producer

    async def accept(self, workspace_id: str, bounces: Sequence[Bounce], *, source: str) -> BounceOutcome:
        """Suppress first (it is what stops mail), then publish; a broker error surfaces as 503 to retry."""
        now = datetime.now(UTC)
        suppressed = temporary = 0
        records: list[OutgoingRecord] = []
        for bounce in bounces:
            if not bounce.permanent:
                temporary += len(bounce.addresses)
                continue
            for address in bounce.addresses:
                await self._store.suppress(workspace_id, address, scope="all", reason="bounced", source=source)
                suppressed += 1
                if bounce.message_id is None:
                    continue
                contact_id = await self._store.contact_with_email(workspace_id, address)
                if contact_id is not None:
                    records.append(OutgoingRecord.of(MESSAGES_STATUS, _bounced(workspace_id, contact_id, bounce, now)))
        if records:
            await self._producer.send_all(records)
        return BounceOutcome(suppressed, temporary, len(records))


def _bounced(workspace_id: str, contact_id: str, bounce: Bounce, now: datetime) -> MessageStatus:
    assert bounce.message_id is not None
    # The same bounce reported twice gets the same id, so consumers drop the repeat.
    digest = hashlib.blake2b(f"{bounce.message_id}\x1f{contact_id}".encode(), digest_size=12).hexdigest()
    return MessageStatus(
        event_id=f"bounce-{digest}",
        workspace_id=workspace_id,
        contact_id=contact_id,
        occurred_at=now,
        received_at=now,
        message_id=bounce.message_id,
        status="bounced",
        channel="email",
        detail=bounce.reason[:500] or None,
    )
