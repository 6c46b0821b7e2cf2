"""Mail that readers' mailbox providers send back: spam complaints (ARF, RFC 5965) and `mailto:` unsubscribes.

Either is tied to its reader by the signed unsubscribe token our message carried (in `List-Unsubscribe`, and
in the subject of the mailto address), never by a From address, which anyone can write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from typing import Any, Literal

__all__ = ["Feedback", "ReportedComplaint", "complaint_events", "read_feedback"]

# Tokens are URL-safe: `kid.payload.mac` (shared/tokens.py).
_MAILTO_TOKEN = re.compile(r"\bunsubscribe-([A-Za-z0-9._~-]{8,2048})")
_LINK_TOKEN = re.compile(r"/u/([A-Za-z0-9._~-]{8,2048})>")
_MESSAGE_ID = re.compile(r"<([^<>@\s]{1,128})@[^<>\s]+>")
# RFC 5965 feedback types that are a person's complaint; `not-spam`, `virus`, `other` ask for nothing.
_COMPLAINTS = frozenset({"abuse", "fraud"})


@dataclass(frozen=True, slots=True)
class Feedback:
    kind: Literal["complaint", "unsubscribe"]
    token: str | None  # the signed unsubscribe token of the message complained about, when it is quoted
    message_id: str | None  # our id from the original's Message-ID, when it is quoted


def read_feedback(raw: bytes) -> Feedback | None:
    """A complaint report or an unsubscribe mail; None for anything else (a bounce, a reply, a report type
    that asks for nothing)."""
    mail = message_from_bytes(raw, policy=compat32)
    if mail.get_content_type() == "multipart/report":
        if mail.get_param("report-type", header="content-type") != "feedback-report":
            return None
        fields = _part_fields(mail, "message/feedback-report")
        if fields is None or str(fields.get("Feedback-Type", "")).strip().lower() not in _COMPLAINTS:
            return None
        original = _original_headers(mail)
        token = _token(str(original.get("List-Unsubscribe", ""))) if original is not None else None
        found = _MESSAGE_ID.search(str(original.get("Message-ID", ""))) if original is not None else None
        return Feedback("complaint", token, found.group(1) if found else None)
    subject = _MAILTO_TOKEN.search(_decoded(str(mail.get("Subject", ""))))
    return Feedback("unsubscribe", subject.group(1), None) if subject else None


def _decoded(header: str) -> str:
    """A header as written: a long subject is folded, and often sent as encoded words (RFC 2047)."""
    try:
        return "".join(str(make_header(decode_header(header))).split())
    except (ValueError, LookupError):
        return "".join(header.split())


def _token(list_unsubscribe: str) -> str | None:
    found = _LINK_TOKEN.search(list_unsubscribe) or _MAILTO_TOKEN.search(list_unsubscribe)
    return found.group(1) if found else None


def _part_fields(mail: Message, content_type: str) -> Message | None:
    """A report part's `Name: value` fields (parsed as headers, which is what they are)."""
    for part in mail.walk():
        if part.get_content_type() != content_type:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        body = part.get_payload(decode=True)
        return message_from_bytes(body if isinstance(body, bytes) else b"", policy=compat32)
    return None


def _original_headers(mail: Message) -> Message | None:
    return _part_fields(mail, "message/rfc822") or _part_fields(mail, "text/rfc822-headers")


@dataclass(frozen=True, slots=True)
class ReportedComplaint:
    """A complaint as a provider's webhook reports it: the reader's address (the webhook is the workspace's own,
    behind its API key) and the message, when it says which."""

    address: str
    message_id: str | None


def complaint_events(payload: Mapping[str, Any]) -> list[ReportedComplaint]:
    """The `{"type": "complaint", "email": …}` events of a bounce webhook body; ``ValueError`` names what is
    missing. Other event types are the bounce reader's."""
    events = payload.get("events", [payload])
    found = []
    for event in events if isinstance(events, list) else ():
        if not isinstance(event, Mapping) or str(event.get("type", "")).lower() != "complaint":
            continue
        address = event.get("email") or event.get("recipient")
        if not isinstance(address, str) or "@" not in address:
            raise ValueError("complaint event needs an 'email' address")
        message_id = event.get("message_id")
        found.append(ReportedComplaint(address.strip().lower(), message_id if isinstance(message_id, str) else None))
    return found
