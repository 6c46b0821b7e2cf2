"""Delivery to one SMTP host: a few reusable connections, a cap on sends in flight and a rate limit.

`send` never raises for what the server says: every reply, and every failure to get
one, comes back as an `SmtpReply` for the domain to classify.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiosmtplib
import structlog
from aiolimiter import AsyncLimiter

log = structlog.get_logger(__name__)

# A connection idle longer than this is checked with NOOP first: servers drop idle clients,
# and finding out mid-transaction could leave it unclear whether the message went through.
_CHECK_IDLE_AFTER_SECONDS = 2.0


@dataclass(frozen=True)
class SmtpReply:
    code: int
    message: str

    @property
    def text(self) -> str:
        return f"{self.code} {self.message}".strip()


@dataclass
class _Idle:
    client: aiosmtplib.SMTP
    since: float


class SmtpRelay:
    """The connections to one SMTP host."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connections: int,
        rate_per_second: float,
        timeout: float,
        starttls: bool,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._timeout = timeout
        self._starttls = starttls
        self._username, self._password = username, password
        self._slots = asyncio.Semaphore(connections)
        self._limiter = AsyncLimiter(rate_per_second, 1)
        self._idle: list[_Idle] = []
        self._closed = False
        self.connections_opened = 0

    async def send(self, mail_from: str, to: str, data: bytes) -> SmtpReply:
        async with self._slots, self._limiter:
            try:
                client = await self._checkout()
            except (aiosmtplib.SMTPException, OSError) as error:
                return SmtpReply(451, f"4.4.1 cannot connect to {self.host}:{self.port}: {error}")
            try:
                _, message = await client.sendmail(mail_from, [to], data)
            except aiosmtplib.SMTPRecipientsRefused as error:
                refused = error.recipients[0]
                await self._release(client, reset=True)
                return SmtpReply(refused.code, refused.message)
            except aiosmtplib.SMTPResponseException as error:
                await self._release(client, reset=True)
                return SmtpReply(error.code, error.message)
            except (aiosmtplib.SMTPException, OSError) as error:
                client.close()
                return SmtpReply(451, f"4.4.2 connection lost: {error}")
            await self._release(client, reset=False)
            return SmtpReply(250, message)

    async def _checkout(self) -> aiosmtplib.SMTP:
        while self._idle:
            idle = self._idle.pop()
            if not idle.client.is_connected:
                continue
            if time.monotonic() - idle.since < _CHECK_IDLE_AFTER_SECONDS:
                return idle.client
            try:
                await idle.client.noop()
                return idle.client
            except (aiosmtplib.SMTPException, OSError):
                idle.client.close()
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self._timeout,
            start_tls=None if self._starttls else False,
            username=self._username,
            password=self._password,
        )
        await client.connect()
        self.connections_opened += 1
        return client

    async def _release(self, client: aiosmtplib.SMTP, *, reset: bool) -> None:
        if self._closed or not client.is_connected:
            client.close()
            return
        if reset:
            try:
                await client.rset()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
                return
        self._idle.append(_Idle(client, time.monotonic()))

    async def close(self) -> None:
        """QUIT on every idle connection; the caller lets sends in flight finish before closing."""
        self._closed = True
        idle, self._idle = self._idle, []
        for item in idle:
            try:
                await item.client.quit()
            except (aiosmtplib.SMTPException, OSError):
                item.client.close()
