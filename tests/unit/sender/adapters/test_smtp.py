"""SMTP TLS: with credentials, a server that offers no STARTTLS is refused, never given the password in clear.

The server is the dev inbox's (aiosmtpd) without STARTTLS, here also offering AUTH over plain text,
as a server stripped of STARTTLS by someone in between would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult
from pydantic import SecretStr, ValidationError

from dripline.devstack.broker import free_port
from dripline.devstack.inbox import Inbox, start_smtp
from services.sender.workers.runtime import smtp_relay
from shared.settings import SenderSettings

MAIL = b"From: shop@example.com\r\nTo: ola@example.com\r\nSubject: Hi\r\n\r\nHello\r\n"


@dataclass
class PlainServer:
    """The dev inbox without STARTTLS, offering AUTH in clear; records every login attempt."""

    port: int
    inbox: Inbox = field(default_factory=Inbox)
    logins: list[str] = field(default_factory=list)

    def authenticate(self, server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.logins.append(mechanism)
        return AuthResult(success=True)


@pytest.fixture
async def plain() -> AsyncIterator[PlainServer]:
    found = PlainServer(free_port())
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(found.inbox, hostname="dripline-inbox", authenticator=found.authenticate, auth_require_tls=False),
        host="127.0.0.1",
        port=found.port,
    )
    yield found
    server.close()
    await server.wait_closed()


def settings(port: int, **overrides: Any) -> SenderSettings:
    return SenderSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_seconds=5, **overrides)


def with_login(port: int, **overrides: Any) -> SenderSettings:
    return settings(port, smtp_username="shop", smtp_password=SecretStr("relay-password"), **overrides)


async def send(settings: SenderSettings, data: bytes = MAIL) -> tuple[int, str]:
    relay = smtp_relay(settings)
    try:
        reply = await relay.send("shop@example.com", "ola@example.com", data)
    finally:
        await relay.close()
    return reply.code, reply.message


async def test_credentials_and_no_starttls_offered_is_refused_without_ever_sending_auth(plain: PlainServer) -> None:
    code, message = await send(with_login(plain.port))

    assert code == 454
    assert f"127.0.0.1:{plain.port} does not offer STARTTLS, and DRIPLINE_SMTP_TLS is require" in message
    assert plain.logins == []
    assert list(plain.inbox.mails) == []


async def test_even_opportunistic_tls_never_sends_the_password_in_clear(plain: PlainServer) -> None:
    code, message = await send(with_login(plain.port, smtp_tls="opportunistic"))

    assert code == 454 and "the SMTP password is never sent in clear" in message
    assert plain.logins == [] and list(plain.inbox.mails) == []


async def test_require_refuses_a_server_without_starttls_even_without_credentials(plain: PlainServer) -> None:
    code, _ = await send(settings(plain.port, smtp_tls="require"))

    assert code == 454 and list(plain.inbox.mails) == []


async def test_the_local_inbox_without_tls_or_credentials_still_gets_mail() -> None:
    inbox, port = Inbox(), free_port()
    server = await start_smtp(inbox, "127.0.0.1", port)
    try:
        assert (await send(settings(port)))[0] == 250  # opportunistic: the default without credentials
        assert (await send(settings(port, smtp_starttls=False)))[0] == 250  # off, as `dripline run` sets it
    finally:
        server.close()
        await server.wait_closed()
    assert len(inbox.mails) == 2


def test_credentials_make_require_the_default_and_forbid_off() -> None:
    assert settings(25).smtp_tls_policy == "opportunistic"
    assert with_login(25).smtp_tls_policy == "require"
    assert with_login(25, smtp_starttls=False).smtp_tls_policy == "require"  # the older switch cannot downgrade
    with pytest.raises(ValidationError, match="DRIPLINE_SMTP_TLS=off with DRIPLINE_SMTP_USERNAME set"):
        with_login(25, smtp_tls="off")
