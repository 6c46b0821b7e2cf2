"""The SMTP receiver for feedback mail: the MX of the unsubscribe address and of feedback-loop reports.

It runs on the tracker's event loop (aiosmtpd's protocol on an asyncio server, no thread) and hands each mail
to the feedback intake. It takes mail for any recipient: what it acts on is decided by the signed token inside.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiosmtpd.smtp import SMTP, Envelope, Session

from shared.errors import BrokerUnavailable

__all__ = ["start_feedback_smtp"]

FeedbackHandler = Callable[[bytes], Awaitable[bool]]  # True when the mail was ours and acted on
_MAX_BYTES = 10 * 1024 * 1024  # a complaint report quotes one message; nothing legitimate is larger


class _Handler:
    def __init__(self, handle: FeedbackHandler) -> None:
        self._handle = handle

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook
        raw = envelope.original_content or b""
        try:
            acted = await self._handle(raw)
        except BrokerUnavailable:
            return "451 4.3.0 try again later"  # the opt-out row is written; the sender retries the rest
        return "250 2.0.0 accepted" if acted else "550 5.7.1 not a message this server can act on"


async def start_feedback_smtp(handle: FeedbackHandler, host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    handler = _Handler(handle)
    return await loop.create_server(
        lambda: SMTP(handler, hostname="dripline-feedback", data_size_limit=_MAX_BYTES), host=host, port=port
    )
