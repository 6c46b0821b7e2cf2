"""The double opt-in confirmation email: a transactional message carrying a signed confirm link."""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.contract.internal import MessageRequested
from shared.tokens import KeyRing, TokenClaims, TokenKind

_NAMESPACE = uuid.UUID("5b6f1c1e-5d0a-4c35-9a57-6b1f0f3d2a10")
DEFAULT_TEMPLATE = "welcome-confirm"


def confirmation_message_id(workspace_id: str, signup_event_id: str) -> str:
    """One confirmation per sign-up event, however often the shop retries it."""
    return str(uuid.uuid5(_NAMESPACE, f"{workspace_id}\x1f{signup_event_id}\x1fconfirm"))


def confirmation_request(
    *,
    workspace_id: str,
    contact_id: str,
    signup_event_id: str,
    template_id: str,
    tracker_url: str,
    keys: KeyRing,
    now: datetime,
) -> MessageRequested:
    message_id = confirmation_message_id(workspace_id, signup_event_id)
    token = keys.sign(
        TokenClaims(
            kind=TokenKind.CONFIRM,
            message_id=message_id,
            workspace_id=workspace_id,
            contact_id=contact_id,
            issued_at=int(now.timestamp()),
        )
    )
    return MessageRequested(
        event_id=message_id,
        workspace_id=workspace_id,
        contact_id=contact_id,
        occurred_at=now,
        received_at=now,
        channel="email",
        template_id=template_id,
        category="transactional",
        variables={"links": {"confirm": f"{tracker_url.rstrip('/')}/f/{token}"}},
    )
