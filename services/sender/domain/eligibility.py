"""Whether a message may go to its reader: address present, not suppressed, consent in place.

Pure: the sender looks up readers, templates and suppressions for a whole batch first,
then judges each message here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.sender.domain.compliance import Consent


@dataclass(frozen=True)
class Reader:
    """Who a message is for, as the sender needs it."""

    profile: dict[str, Any]
    subscriptions: dict[str, str]  # topic (or * for marketing as a whole) → status
    consent: Consent | None  # the first marketing grant: when and where, for the footer

    def lacks_consent(self, topic: str | None) -> str | None:
        """Why a marketing message may not go (no `subscribed` row for `*`, or for its topic), or None.

        The scheduler already judged this; checking again here covers requests from elsewhere and
        consent withdrawn while the request waited."""
        for scope in ("*", topic) if topic else ("*",):
            if self.subscriptions.get(scope) != "subscribed":
                what = "marketing" if scope == "*" else f"topic {scope}"
                return f"no consent to {what} ({self.subscriptions.get(scope, 'none')})"
        return None


def address_of(reader: Reader | None, field: str) -> str | None:
    """The reader's address in `field` (email, phone), or None."""
    if reader is None:
        return None
    address = reader.profile.get(field)
    return str(address) if address else None


def unreachable(reader: Reader | None, field: str) -> str | None:
    """Why the reader cannot be reached on this channel at all, or None."""
    if reader is None:
        return "contact unknown or erased"
    if address_of(reader, field) is None:
        return f"contact has no {field}"
    return None


def blocked(
    reader: Reader, field: str, *, marketing: bool, topic: str | None, suppression_scopes: frozenset[str]
) -> str | None:
    """Why a message must not go to a reachable reader, or None when it may.

    Scope `all` (a hard bounce, a complaint, an erasure) blocks every message; scope `marketing`
    (an unsubscribe) only marketing ones, which also need the reader's consent."""
    if "all" in suppression_scopes or (marketing and "marketing" in suppression_scopes):
        return f"{field} suppressed" + (" for marketing" if marketing else "")
    if marketing:
        return reader.lacks_consent(topic)
    return None
