"""Assemble the final message bytes, and DKIM-sign them when the domain has a key."""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import charset
from email.header import Header
from email.utils import format_datetime, formataddr

import dkim

from services.sender.domain.mailbox import mailbox_of
from services.sender.domain.rendering.render import RenderedMessage

__all__ = ["DkimKey", "build_message", "message_id_header", "sign_dkim"]

# Encoded words in base64, folded as `email.header.Header` folds them at its default line length: the
# stdlib's default tries both encodings per header to pick the shorter, and sizes each word by encoding it
# again for every character added, which cost more than the rest of the message's headers together.
_WORD_START, _WORD_END = "=?utf-8?b?", "?="
_WORD_CHROME = len(_WORD_START) + len(_WORD_END)
_LINE = 78
_UTF8_WORDS = charset.Charset("utf-8")
_UTF8_WORDS.header_encoding = charset.BASE64
_SAFE_ID = re.compile(r"[A-Za-z0-9._+-]{1,128}")
# Signing the unsubscribe headers is what lets mailbox providers trust one-click unsubscribe.
_SIGNED_HEADERS = (
    "From",
    "Reply-To",
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
    """RFC 5322 bytes: text and HTML as multipart/alternative, compliance headers, optional DKIM.

    Written out directly rather than through `email.message`: that package's header parsing and
    generator cost more than rendering the message itself. The parts are quoted-printable UTF-8,
    so a boundary starting with `=_` can never occur inside them. The recipient's domain is written
    as IDNA A-labels; a non-ASCII local part stays UTF-8 (RFC 6532), for a server offering SMTPUTF8.
    `AddressError` when `to` cannot be written.
    """
    recipient = mailbox_of(to)
    boundary = f"=_dl_{hashlib.blake2b(message_id.encode(), digest_size=12).hexdigest()}"
    headers = [
        ("From", formataddr((from_name, from_address), charset="utf-8")),
        ("To", recipient.address),
        ("Subject", _header_value(rendered.subject, "Subject")),
        ("Date", format_datetime(now)),
        ("Message-ID", message_id_header(message_id, sending_domain)),
        *((name, _header_value(value, name)) for name, value in {**rendered.headers, **(extra_headers or {})}.items()),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode(
        "utf-8" if recipient.needs_smtputf8 else "ascii"
    )
    data = b"".join(
        [
            head,
            b"\r\n",
            _part(boundary, "plain", rendered.text),
            _part(boundary, "html", rendered.html),
            f"--{boundary}--\r\n".encode("ascii"),
        ]
    )
    return sign_dkim(data, dkim_key) if dkim_key is not None else data


def _header_value(value: str, name: str) -> str:
    """ASCII stays as written (long values unfolded, as RFC 5322 allows up to 998); anything else
    becomes RFC 2047 encoded words, folded."""
    if any(char in value for char in "\r\n"):
        raise ValueError("header values cannot contain line breaks")
    if value.isascii():
        return value
    if value.splitlines() != [value]:  # the stdlib takes a few control characters as line ends, and drops them
        return Header(value, _UTF8_WORDS, header_name=name).encode(linesep="\r\n")
    return encoded_words(value, name)


def encoded_words(value: str, name: str) -> str:
    """RFC 2047 base64 words of UTF-8, each whole characters, the first fitting beside `name: `, the others
    on folded lines of their own, as the stdlib's `Header(value, 'utf-8' in base64, header_name=name)` writes them."""
    words: list[str] = []
    room = _LINE - len(name) - 2 - _WORD_CHROME  # base64 characters the first word may hold
    chunk = bytearray()
    for character in value:
        encoded = character.encode("utf-8")
        if chunk and -(-(len(chunk) + len(encoded)) // 3) * 4 > room:
            words.append(_word(chunk))
            chunk = bytearray()
            room = _LINE - 1 - _WORD_CHROME
        chunk += encoded
    words.append(_word(chunk))
    return "\r\n ".join(words)


def _word(chunk: bytes | bytearray) -> str:
    return f"{_WORD_START}{binascii.b2a_base64(chunk, newline=False).decode('ascii')}{_WORD_END}"


def _part(boundary: str, subtype: str, content: str) -> bytes:
    body = content.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
    return (
        f"--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode("ascii") + encoded
