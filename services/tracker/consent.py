"""Unsubscribing and re-subscribing: the suppression row (and ledger entry) first, then the record.

The row is what stops mail, so it is written before anything is said on the bus. The
record's id derives from the token and the row's creation time: repeating a click (or a
mailbox provider retrying its one-click POST) republishes the same id, which consumers drop.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import structlog

from services.tracker.adapters.buffer import EngagementBuffer
from services.tracker.adapters.consent import ConsentStore, Proof
from services.tracker.domain.machine import HUMAN
from services.tracker.hits import engagement
from shared.contract.internal import Engagement
from shared.contract.topics import ENGAGEMENT
from shared.errors import BrokerUnavailable
from shared.kafka.producer import OutgoingRecord, Producer
from shared.tokens import TokenClaims

__all__ = ["Consent"]

log = structlog.get_logger(__name__)


def _event_id(code: str, *parts: str) -> str:
    return f"{code}-{hashlib.blake2b(chr(31).join(parts).encode(), digest_size=12).hexdigest()}"


class Consent:
    def __init__(self, store: ConsentStore, producer: Producer, buffer: EngagementBuffer) -> None:
        self.store = store
        self._producer = producer
        self._buffer = buffer

    async def unsubscribe(self, claims: TokenClaims, token: str, *, source: str, proof: Proof) -> None:
        """Suppress the contact's address for marketing and say so on the bus (idempotent)."""
        email = await self.store.email_of(claims.workspace_id, claims.contact_id)
        if email is None:
            # Erased or never had an address: nothing to suppress, but the ledger and flows still hear of it.
            log.warning("tracker.unsubscribe_without_address", workspace_id=claims.workspace_id)
        request_id = _event_id("u", token)
        marker = await self.store.withdraw(
            claims.workspace_id, claims.contact_id, email, source=source, proof=proof, request_id=request_id
        )
        await self._publish(claims, "unsubscribed", _event_id("u", token, marker))

    async def resubscribe(self, claims: TokenClaims, token: str, *, proof: Proof) -> bool:
        """Remove the person's own marketing opt-out; False when there was none (nothing published)."""
        email = await self.store.email_of(claims.workspace_id, claims.contact_id)
        if email is None:
            return False
        request_id = _event_id("p", token)
        removed = await self.store.regrant(
            claims.workspace_id, claims.contact_id, email, proof=proof, request_id=request_id
        )
        if removed is None:
            return False
        await self._publish(claims, "preferences_changed", _event_id("p", token, "resubscribed", removed.isoformat()))
        return True

    async def _publish(self, claims: TokenClaims, kind: str, event_id: str) -> None:
        """Straight to the broker (these are rare and matter); the buffer retries if it is away."""
        record: Engagement = engagement(claims, kind, HUMAN, event_id=event_id, now=datetime.now(UTC))
        try:
            await self._producer.send_all([OutgoingRecord.of(ENGAGEMENT, record)])
        except BrokerUnavailable:
            self._buffer.add(record)
