"""Every ledger outcome becomes a `MessageStatus` on the broker, with an id that a repeat keeps."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import structlog

from services.sender.adapters.ledger import LedgerEntry, SendLedger
from shared.contract.internal import MessageStatus
from shared.contract.topics import MESSAGES_STATUS
from shared.errors import BrokerUnavailable
from shared.kafka.producer import Producer

log = structlog.get_logger(__name__)

# Longer than a report normally takes, so a leftover is one whose sender failed to report it.
_LEFTOVER_AFTER = timedelta(seconds=2)


def status_event_id(message_id: str, state: str, attempt: int) -> str:
    """The same outcome always gets the same id, so consumers drop repeats."""
    event_id = f"{message_id}.{state}.{attempt}"
    if len(event_id) <= 128:
        return event_id
    return f"{hashlib.sha256(message_id.encode()).hexdigest()[:40]}.{state}.{attempt}"


def status_of(entry: LedgerEntry, *, now: datetime) -> MessageStatus:
    request = entry.request
    attempt = max(entry.attempts, 1)
    return MessageStatus(
        event_id=status_event_id(entry.message_id, entry.state, attempt),
        workspace_id=request.workspace_id,
        contact_id=request.contact_id,
        occurred_at=entry.updated_at,
        received_at=now,
        flow_id=request.flow_id,
        flow_version=request.flow_version,
        step_id=request.step_id,
        broadcast_id=request.broadcast_id,
        message_id=entry.message_id,
        status=entry.state,  # type: ignore[arg-type]  # only final states are reported
        channel=request.channel,
        attempt=attempt,
        detail=entry.last_reply,
        opens_tracked=entry.opens_tracked if entry.state == "sent" else None,
    )


class StatusReporter:
    def __init__(self, ledger: SendLedger, producer: Producer) -> None:
        self._ledger, self.producer = ledger, producer

    async def report(self, entries: list[LedgerEntry], *, leftovers: bool = False) -> None:
        """Publish, then mark reported; when the broker is away, the retry loop publishes them later.

        `leftovers` are rows this call did not just finish: another sender may be at them again, so
        marking them skips rows it is writing (`SendLedger.mark_reported`)."""
        if not entries:
            return
        now = datetime.now(UTC)
        try:
            await self.producer.publish(MESSAGES_STATUS, [status_of(entry, now=now) for entry in entries])
        except BrokerUnavailable as error:
            log.warning("status.unreported", count=len(entries), reason=str(error))
            return
        await self._ledger.mark_reported(entries, skip_busy=leftovers)

    async def report_leftovers(self, limit: int = 200) -> None:
        await self.report(await self._ledger.unreported(limit=limit, older_than=_LEFTOVER_AFTER), leftovers=True)
