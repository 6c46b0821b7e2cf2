"""A development mail inbox: an aiosmtpd server that keeps every message, and a page to read them.

It also takes SMS sent to its dev SMS endpoint and webhooks sent to its webhook receiver (the
local stack points the example flows' `notify` steps there), and can be told to answer the next
deliveries with chosen SMTP replies (421, 550…) so tests can drive retries and bounces.
A mail with an empty link or picture, or Liquid left unrendered, is flagged where it is shown.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

_EMPTY_LINK = re.compile(r"""\b(href|src)\s*=\s*(?:""|'')""", re.I)


@dataclass
class ReceivedMail:
    id: int
    received_at: datetime
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage = field(repr=False)

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    def part(self, subtype: str) -> str | None:
        body = self.message.get_body(preferencelist=(subtype,))
        return None if body is None else str(body.get_content())

    @property
    def problems(self) -> list[str]:
        """What a reader must never see: an empty link or picture, Liquid left as it was written."""
        found = []
        for part, label in (("html", "HTML"), ("plain", "text")):
            body = self.part(part) or ""
            found += [f"{label}: empty {m.group(1).lower()}" for m in _EMPTY_LINK.finditer(body)]
            found += [f"{label}: unrendered {tag}" for tag in ("{{", "{%") if tag in body]
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "mail_from": self.mail_from,
            "rcpt_tos": self.rcpt_tos,
            "subject": self.subject,
            "headers": [[name, str(value)] for name, value in self.message.items()],
            "html": self.part("html"),
            "text": self.part("plain"),
            "problems": self.problems,
        }


@dataclass
class ReceivedSms:
    id: int
    received_at: datetime
    to: str
    body: str
    sender: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "received_at": self.received_at.isoformat(), "to": self.to, "body": self.body}


@dataclass
class ReceivedWebhook:
    """A webhook delivery; `url` is where it would have gone outside the local stack."""

    id: int
    received_at: datetime
    url: str
    signature: str | None
    body: Any

    def field(self, name: str) -> str:
        return str(self.body.get(name) or "") if isinstance(self.body, dict) else ""

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "received_at": self.received_at.isoformat()}


class Inbox:
    """Keeps the last `capacity` mails, texts and webhooks in memory."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.mails: deque[ReceivedMail] = deque(maxlen=capacity)
        self.texts: deque[ReceivedSms] = deque(maxlen=capacity)
        self.hooks: deque[ReceivedWebhook] = deque(maxlen=capacity)
        self.replies: deque[str] = deque()
        self.accepted = 0
        self._ids = itertools.count(1)
        self._arrived = asyncio.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook
        if self.replies:
            return self.replies.popleft()
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        mail = ReceivedMail(
            next(self._ids),
            datetime.now(UTC),
            str(envelope.mail_from),
            [str(r) for r in envelope.rcpt_tos],
            raw,
            parsed,
        )
        self.mails.append(mail)
        self.accepted += 1
        async with self._arrived:
            self._arrived.notify_all()
        return "250 2.0.0 OK: queued"

    def add_sms(self, to: str, body: str, sender: str | None) -> ReceivedSms:
        text = ReceivedSms(next(self._ids), datetime.now(UTC), to, body, sender)
        self.texts.append(text)
        return text

    def add_webhook(self, url: str, signature: str | None, body: Any) -> ReceivedWebhook:
        hook = ReceivedWebhook(next(self._ids), datetime.now(UTC), url, signature, body)
        self.hooks.append(hook)
        return hook

    def find_webhook(self, hook_id: int) -> ReceivedWebhook | None:
        return next((hook for hook in self.hooks if hook.id == hook_id), None)

    def find(self, mail_id: int) -> ReceivedMail | None:
        return next((mail for mail in self.mails if mail.id == mail_id), None)

    def clear(self) -> None:
        self.mails.clear()
        self.texts.clear()
        self.hooks.clear()
        self.replies.clear()


async def start_smtp(inbox: Inbox, host: str, port: int) -> asyncio.Server:
    """The SMTP side runs on the caller's event loop (no thread)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(inbox, hostname="dripline-inbox", data_size_limit=25 * 1024 * 1024, enable_SMTPUTF8=True),
        host=host,
        port=port,
    )
