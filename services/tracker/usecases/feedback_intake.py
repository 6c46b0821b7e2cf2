"""Spam complaints and mailto unsubscribes: each stops marketing to its reader at once, as the link does.

A complaint is an opt-out the person cannot undo on the preferences page (suppression reason `complained`,
ledger source `complaint`); a mailto unsubscribe is the link's opt-out (source `mailto`). The reader is the
one the message's signed token names; mail without a valid token changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from services.tracker.adapters.consent import Proof
from services.tracker.domain.feedback import ReportedComplaint, read_feedback
from services.tracker.usecases.consent import Consent
from shared.tokens import KeyRing, TokenClaims, TokenError, TokenKind

__all__ = ["FeedbackIntake", "FeedbackOutcome"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    """What one mail was: `complaint` or `unsubscribe` (acted on), `unknown` (not ours to act on) or
    `other_workspace` (a valid token of a workspace other than the caller's)."""

    kind: str
    workspace_id: str | None = None


class FeedbackIntake:
    def __init__(self, keys: KeyRing, consent: Consent) -> None:
        self._keys = keys
        self._consent = consent

    async def accept(self, raw: bytes, *, source: str, workspace_id: str | None = None) -> FeedbackOutcome:
        """Act on one mail; ``workspace_id`` (the caller's, over HTTP) limits it to that workspace's messages."""
        feedback = read_feedback(raw)
        if feedback is None or feedback.token is None:
            return FeedbackOutcome("unknown")
        try:
            claims = self._keys.verify(feedback.token, TokenKind.UNSUB)
        except TokenError:
            log.warning("tracker.feedback_bad_token", kind=feedback.kind, source=source)
            return FeedbackOutcome("unknown")
        if workspace_id is not None and claims.workspace_id != workspace_id:
            return FeedbackOutcome("other_workspace")
        complaint = feedback.kind == "complaint"
        await self._consent.unsubscribe(
            claims,
            feedback.token,
            source="complaint" if complaint else "mailto",
            proof=Proof(None, f"{source} {feedback.kind}"),
            reason="complained" if complaint else "unsubscribed",
        )
        log.info("tracker.feedback", kind=feedback.kind, source=source, workspace_id=claims.workspace_id)
        return FeedbackOutcome(feedback.kind, claims.workspace_id)

    async def complaints(self, workspace_id: str, reported: list[ReportedComplaint], *, source: str) -> int:
        """Complaints from the workspace's own provider webhook, by address: each stops marketing to the address
        (and to its contact, with a ledger entry, when one has it)."""
        for complaint in reported:
            store = self._consent.store
            contact_id = await store.contact_with_email(workspace_id, complaint.address)
            if contact_id is None:
                await store.suppress(
                    workspace_id, complaint.address, scope="marketing", reason="complained", source="complaint"
                )
                continue
            # The webhook names no token: the complaint's own ids stand in for one, so a repeat is dropped.
            message_id = complaint.message_id or "unknown"
            claims = TokenClaims(TokenKind.UNSUB, message_id, workspace_id, contact_id, 0)
            await self._consent.unsubscribe(
                claims, f"complaint:{message_id}:{contact_id}", source="complaint", proof=Proof(None, source),
                reason="complained",
            )  # fmt: skip
        return len(reported)
