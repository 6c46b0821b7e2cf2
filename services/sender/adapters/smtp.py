"""Delivery to one SMTP host: a few reusable connections, a cap on sends in flight and a rate limit.

`send` never raises for what the server says: every reply, and every failure to get
one, comes back as an `SmtpReply` for the domain to classify. Addresses go as the domain's
`Mailbox` rule says: IDNA domains, and SMTPUTF8 only for a non-ASCII local part.

TLS follows `DRIPLINE_SMTP_TLS` (`SmtpTls`): STARTTLS with the certificate checked against the host
name, and the password only ever over TLS, whatever the policy.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

import aiosmtplib
import structlog
from aiolimiter import AsyncLimiter
from prometheus_client import Histogram

from services.sender.domain.mailbox import AddressError, mailbox_of

log = structlog.get_logger(__name__)

# A connection idle longer than this is checked with NOOP first: servers drop idle clients,
# and finding out mid-transaction could leave it unclear whether the message went through.
_CHECK_IDLE_AFTER_SECONDS = 2.0
# RFC 6531's answer when a non-ASCII address meets a server without SMTPUTF8: permanent for this
# message, but the address itself is alive (not a bounce, so it is not suppressed).
NO_SMTPUTF8 = "5.6.7 the SMTP server does not offer SMTPUTF8, which an address with a non-ASCII local part needs"
SmtpTls = Literal["require", "opportunistic", "off"]
# MAIL FROM to the reply after the data, on a connection already open: the relay's own pace.
ROUND_TRIP = Histogram(
    "dripline_smtp_round_trip_seconds",
    "One message's SMTP transaction (MAIL FROM to the reply after DATA) on an open connection, by relay",
    ["relay"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


class TlsUnavailable(aiosmtplib.SMTPException):
    """The server does not offer STARTTLS, and the policy or the credentials need it."""


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


def canonical_size(data: bytes) -> int | None:
    """The message's SIZE (RFC 1870) when it is CRLF-canonical, as built messages are; None (no SIZE) if not."""
    lines = data.count(b"\r\n")
    if data.count(b"\n") != lines or data.count(b"\r") != lines or not data.endswith(b"\r\n"):
        return None
    return len(data)


async def _greet(client: aiosmtplib.SMTP) -> None:
    """EHLO, or HELO for a server that knows no EHLO: what `sendmail` does before its first command."""
    try:
        await client.ehlo()
    except aiosmtplib.SMTPHeloError:
        if not client.is_connected:
            raise
        await client.helo()


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
        tls: SmtpTls,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._timeout = timeout
        self._tls = tls
        self._username, self._password = username, password
        self._slots = asyncio.Semaphore(connections)
        self._limiter = AsyncLimiter(rate_per_second, 1)
        self._idle: list[_Idle] = []
        self._closed = False
        self.connections_opened = 0
        self._round_trip = ROUND_TRIP.labels(f"{host}:{port}")

    async def send(self, mail_from: str, to: str, data: bytes) -> SmtpReply:
        try:
            recipient = mailbox_of(to)
        except AddressError as error:
            return SmtpReply(553, f"5.1.3 {error}")
        options = ["SMTPUTF8"] if recipient.needs_smtputf8 or not mail_from.isascii() else []
        async with self._slots, self._limiter:
            try:
                client = await self._checkout()
            except TlsUnavailable as error:
                # 4xx: mail waits (and retries) while the relay or the setting is put right.
                return SmtpReply(454, f"4.7.0 {error}")
            except (aiosmtplib.SMTPException, OSError) as error:
                return SmtpReply(451, f"4.4.1 cannot connect to {self.host}:{self.port}: {error}")
            try:
                message = await self._transaction(client, mail_from, recipient.address, data, options)
            except aiosmtplib.SMTPNotSupported:
                # Found out after EHLO, before MAIL FROM: nothing to reset.
                await self._release(client, reset=False)
                return SmtpReply(553, NO_SMTPUTF8)
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

    async def _transaction(
        self, client: aiosmtplib.SMTP, mail_from: str, to: str, data: bytes, options: list[str]
    ) -> str:
        """`MAIL FROM`, `RCPT TO` and `DATA`, as `sendmail` sends them but for its pass over the whole
        message to learn its size: the bytes are CRLF-canonical already, so their length is the SIZE."""
        started = time.perf_counter()
        try:
            if client.is_ehlo_or_helo_needed:
                await _greet(client)
            encoding = "utf-8" if options else "ascii"  # the only option is SMTPUTF8
            if options and not client.supports_extension("smtputf8"):
                raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
            size = canonical_size(data) if client.supports_extension("size") else None
            await client.mail(mail_from, options=[*options, f"SIZE={size}"] if size else options, encoding=encoding)
            await client.rcpt(to, encoding=encoding)
            response = await client.data(data)
        finally:
            self._round_trip.observe(time.perf_counter() - started)
        return response.message

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
        # Connected without aiosmtplib's own STARTTLS and login: it would log in over plain text
        # when a server (or someone in between) leaves STARTTLS out.
        client = aiosmtplib.SMTP(hostname=self.host, port=self.port, timeout=self._timeout, start_tls=False)
        await client.connect()
        try:
            await self._secure(client)
            if self._username is not None:
                await client.login(self._username, self._password or "")
        except BaseException:
            client.close()
            raise
        self.connections_opened += 1
        return client

    async def _secure(self, client: aiosmtplib.SMTP) -> None:
        if self._tls != "off":
            await client.ehlo()
            if client.supports_extension("starttls"):
                await client.starttls()
                return
        if self._tls == "require":
            raise TlsUnavailable(f"{self.host}:{self.port} does not offer STARTTLS, and DRIPLINE_SMTP_TLS is require")
        if self._username is not None:
            raise TlsUnavailable(f"{self.host}:{self.port} has no STARTTLS: the SMTP password is never sent in clear")

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
