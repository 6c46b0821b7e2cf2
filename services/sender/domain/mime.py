"""Assemble the final message bytes, and DKIM-sign them when the domain has a key."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

import dkim

from services.sender.domain.render import RenderedMessage

__all__ = ["DkimKey", "build_message", "message_id_header", "sign_dkim"]

# Left at 78, the email package turns a long List-Unsubscribe URL into an RFC 2047 encoded
# word, which mailbox providers do not decode; RFC 5322 allows lines of up to 998.
_POLICY = SMTP.clone(max_line_length=998)
_SAFE_ID = re.compile(r"[A-Za-z0-9._+-]{1,128}")
# Signing the unsubscribe headers is what lets mailbox providers trust one-click unsubscribe.
_SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "X-Dripline-Category",
)


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A domain's DKIM private key (PEM) and the selector its public key is published under."""

    domain: str
    selector: str
    private_key_pem: bytes


def message_id_header(message_id: str, sending_domain: str) -> str:
    """``<id@domain>``, the same for every retry of a message, so receivers can spot duplicates."""
    local = message_id if _SAFE_ID.fullmatch(message_id) else hashlib.sha256(message_id.encode()).hexdigest()[:32]
    return f"<{local}@{sending_domain}>"


def sign_dkim(message: bytes, key: DkimKey) -> bytes:
    """Prepend a DKIM-Signature over the bytes exactly as they will be sent."""
    present = {line.split(b":", 1)[0].strip().lower() for line in message.split(b"\r\n\r\n", 1)[0].split(b"\r\n")}
    include = [h.encode() for h in _SIGNED_HEADERS if h.lower().encode() in present]
    signature: bytes = dkim.sign(
        message,
        key.selector.encode("ascii"),
        key.domain.encode("ascii"),
        key.private_key_pem,
        include_headers=include,
    )
    return signature + message


def build_message(
    rendered: RenderedMessage,
    *,
    from_name: str,
    from_address: str,
    to: str,
    message_id: str,
    sending_domain: str,
    now: datetime,
    extra_headers: Mapping[str, str] | None = None,
    dkim_key: DkimKey | None = None,
) -> bytes:
    """RFC 5322 bytes: text and HTML as multipart/alternative, compliance headers, optional DKIM."""
    msg = EmailMessage(policy=_POLICY)
    username, _, domain = from_address.rpartition("@")
    msg["From"] = Address(display_name=from_name, username=username, domain=domain)
    msg["To"] = to
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id_header(message_id, sending_domain)
    for name, value in {**rendered.headers, **(extra_headers or {})}.items():
        msg[name] = value
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    data = msg.as_bytes()
    return sign_dkim(data, dkim_key) if dkim_key is not None else data
