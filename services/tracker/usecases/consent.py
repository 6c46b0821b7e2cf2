"""Unsubscribing, re-subscribing, choosing topics and confirming a sign-up: the rows (and ledger
entries) first, then the record.

The row is what stops mail, so it is written before anything is said on the bus. The
record's id derives from the token and the row's creation time: repeating a click (or a
mailbox provider retrying its one-click POST) republishes the same id, which consumers drop.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import structlog

from services.tracker.adapters.buffer import EngagementBuffer
from services.tracker.adapters.consent import Confirmation, ConsentStore, Proof
from services.tracker.domain.machine import HUMAN
from services.tracker.usecases.hits import engagement
from shared.errors import BrokerUnavailable
from shared.kafka.producer import Producer
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

    async def unsubscribe(
        self, claims: TokenClaims, token: str, *, source: str, proof: Proof, reason: str = "unsubscribed"
    ) -> None:
        """Suppress the contact's address for marketing and say so on the bus (idempotent); a spam complaint
        is reason `complained`."""
        email = await self.store.email_of(claims.workspace_id, claims.contact_id)
        if email is None:
            if not await self.store.on_record(claims.workspace_id, claims.contact_id):
                # Erased since: their addresses are suppressed already, and nothing may be stored about them again.
                log.info("tracker.unsubscribe_of_erased_contact", workspace_id=claims.workspace_id)
                return
            # No address: nothing to suppress, but the ledger and flows still hear of it.
            log.warning("tracker.unsubscribe_without_address", workspace_id=claims.workspace_id)
        code = "u" if reason == "unsubscribed" else "x"  # a complaint after an unsubscribe is still recorded
        request_id = _event_id(code, token)
        marker = await self.store.withdraw(
            claims.workspace_id, claims.contact_id, email, source=source, proof=proof, request_id=request_id,
            reason=reason,
        )  # fmt: skip
        await self._publish(claims, "unsubscribed", _event_id(code, token, marker))

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

    async def confirm(self, claims: TokenClaims, *, proof: Proof) -> Confirmation:
        """Confirm the sign-up the token was sent for; flows held for it start when `confirmed` arrives.

        A repeat republishes the same record id (consumers drop it), which also covers a crash
        between the commit and the publish."""
        email = await self.store.email_of(claims.workspace_id, claims.contact_id)
        outcome = await self.store.confirm(
            claims.workspace_id, claims.contact_id, email, proof=proof, message_id=claims.message_id
        )
        if outcome != "expired":
            await self._publish(claims, "confirmed", _event_id("f", claims.workspace_id, claims.message_id))
        return outcome

    async def choose_topics(self, claims: TokenClaims, token: str, wanted: dict[str, bool], *, proof: Proof) -> bool:
        """Subscribe to or leave topics one by one; False when nothing changed (nothing published).

        A contact erased since the link was sent changes nothing: no subscription or ledger row comes back."""
        if not await self.store.on_record(claims.workspace_id, claims.contact_id):
            return False
        stamp = datetime.now(UTC).isoformat()
        changed = await self.store.choose_topics(
            claims.workspace_id, claims.contact_id, wanted, proof=proof, request_id=_event_id("p", token, stamp)
        )
        if not changed:
            return False
        choice = ",".join(f"{topic}={wanted[topic]}" for topic in changed)
        await self._publish(claims, "preferences_changed", _event_id("p", token, "topics", choice, stamp))
        return True

    async def _publish(self, claims: TokenClaims, kind: str, event_id: str) -> None:
        """Straight to the broker (these are rare and matter); the buffer retries if it is away."""
        record = engagement(claims, kind, HUMAN, event_id=event_id, now=time.time())
        try:
            await self._producer.send_all([record])
        except BrokerUnavailable:
            self._buffer.add(record)
