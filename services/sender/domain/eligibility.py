"""Whether a message may go to its reader: address present, not suppressed, consent in place.

Pure: the sender looks up readers, templates and suppressions for a whole batch first,
then judges each message here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.sender.domain.rendering.compliance import Consent
from shared.consent.channels import ConsentChannel, channel_refusal
from shared.consent.promise import promises_of

# The consent a message to each address field needs.
CHANNEL_OF: dict[str, ConsentChannel] = {"email": "email", "phone": "sms"}


@dataclass(frozen=True)
class Reader:
    """Who a message is for, as the sender needs it."""

    profile: dict[str, Any]
    subscriptions: dict[str, str]  # topic (or * for marketing as a whole) → status
    consent: Consent | None  # the first marketing grant: when and where, for the footer
    promises: dict[str, dict[str, str]] = field(default_factory=dict)  # topic → language → how often

    def promise(self, topic: str | None, locale: str | None) -> str | None:
        """How often the message's topic writes (or, without one, every topic the reader is signing up to),
        in the reader's language: what the confirmation email and the footer promise."""
        topics = [topic] if topic else list(self.promises)
        return " ".join(promises_of(self.promises, topics, locale)) or None

    def lacks_consent(self, topic: str | None, channel: ConsentChannel = "email") -> str | None:
        """Why a marketing message may not go (no `subscribed` row for `*`, its channel or its topic), or None.

        The scheduler already judged this; checking again here covers requests from elsewhere and
        consent withdrawn while the request waited."""
        if self.subscriptions.get("*") != "subscribed":
            return f"no consent to marketing ({self.subscriptions.get('*', 'none')})"
        refused = channel_refusal(self.subscriptions, channel)
        if refused is not None:
            return refused
        if topic and self.subscriptions.get(topic) != "subscribed":
            return f"no consent to topic {topic} ({self.subscriptions.get(topic, 'none')})"
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
        return reader.lacks_consent(topic, CHANNEL_OF.get(field, "email"))
    return None
