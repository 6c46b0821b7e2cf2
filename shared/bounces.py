"""Read bounces: delivery status notifications by mail, and provider webhooks.

Webhook shape accepted (one event or ``{"events": [...]}``)::

    {"type": "bounce",                 # other types are ignored
     "email": "reader@example.com",    # or "recipient"
     "bounce_type": "hard" | "soft",   # optional when "status" is given
     "status": "5.1.1",                # optional enhanced status code
     "diagnostic": "550 5.1.1 user unknown",  # optional
     "message_id": "msg-123"}          # optional: our message id, echoed back
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from typing import Any

from flufl.bounce import all_failures

from shared.smtp_replies import Outcome, classify_smtp_reply

__all__ = ["Bounce", "parse_bounce_webhook", "parse_dsn"]


@dataclass(frozen=True, slots=True)
class Bounce:
    """Addresses that bounced; ``permanent`` means the address is dead and must be suppressed."""

    addresses: tuple[str, ...]
    permanent: bool
    reason: str = ""
    message_id: str | None = None


def parse_dsn(raw: bytes | Message) -> list[Bounce]:
    """Bounces found in a DSN or bounce mail; empty when it is not one flufl.bounce recognises.

    Mail that breaks the detectors raises `ValueError`, so a caller answers it as bad input, never a 500.
    """
    msg = raw if isinstance(raw, Message) else message_from_bytes(raw, policy=compat32)
    try:
        temporary, permanent = all_failures(msg)
    except Exception as error:  # flufl.bounce's detectors index into what they expect; hostile mail breaks them
        raise ValueError(f"not a delivery report flufl.bounce can read ({type(error).__name__})") from error

    def decoded(found: frozenset[bytes]) -> tuple[str, ...]:
        return tuple(sorted(a.decode("utf-8", "replace").strip().lower() for a in found))

    bounces = []
    if permanent:
        bounces.append(Bounce(decoded(permanent), True, "permanent delivery failure"))
    if temporary - permanent:
        bounces.append(Bounce(decoded(temporary - permanent), False, "temporary delivery failure"))
    return bounces


def _one(event: Mapping[str, Any]) -> Bounce | None:
    if str(event.get("type", "bounce")).lower() != "bounce":
        return None
    address = event.get("email") or event.get("recipient")
    if not isinstance(address, str) or "@" not in address:
        raise ValueError("bounce event needs an 'email' address")
    kind = str(event.get("bounce_type", "")).lower()
    status = event.get("status")
    diagnostic = str(event.get("diagnostic", ""))
    if kind in ("hard", "soft"):
        permanent = kind == "hard"
    elif isinstance(status, str) and status[:1] in ("4", "5"):
        code = 550 if status.startswith("5") else 450
        permanent = classify_smtp_reply(code, diagnostic, status).outcome is Outcome.BOUNCED_HARD
    else:
        raise ValueError("bounce event needs 'bounce_type' (hard|soft) or a 'status' like 5.1.1")
    message_id = event.get("message_id")
    return Bounce(
        (address.strip().lower(),),
        permanent,
        diagnostic or str(status or kind),
        message_id if isinstance(message_id, str) else None,
    )


def parse_bounce_webhook(payload: Mapping[str, Any]) -> list[Bounce]:
    """Bounces from a provider webhook body; ``ValueError`` names what is missing."""
    events = payload.get("events", [payload])
    if not isinstance(events, list):
        raise ValueError("'events' must be a list")
    found = []
    for event in events:
        if not isinstance(event, Mapping):
            raise ValueError("each event must be an object")
        bounce = _one(event)
        if bounce is not None:
            found.append(bounce)
    return found
