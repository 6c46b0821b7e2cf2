"""Turn a verified token and the request facts into the engagement record the tracker emits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.tracker.domain.machine import Verdict
from shared.tokens import TokenClaims, TokenKind

__all__ = ["engagement_record"]

_EVENT_KIND = {
    TokenKind.OPEN: "opened",
    TokenKind.CLICK: "clicked",
    TokenKind.UNSUB: "unsubscribed",
}


def engagement_record(claims: TokenClaims, verdict: Verdict, occurred_at: datetime) -> dict[str, Any]:
    """A plain dict for the outbox; ``ValueError`` for tokens that record no engagement.

    ``occurred_at`` comes from the caller's clock, keeping this pure and replayable.
    """
    kind = _EVENT_KIND.get(claims.kind)
    if kind is None:
        raise ValueError(f"a {claims.kind} token records no engagement")
    return {
        "kind": kind,
        "message_id": claims.message_id,
        "workspace_id": claims.workspace_id,
        "contact_id": claims.contact_id,
        "flow_id": claims.flow_id,
        "step_id": claims.step_id,
        "url": claims.url,
        "machine": verdict.machine,
        "reason": verdict.reason,
        "occurred_at": occurred_at.isoformat(),
    }
