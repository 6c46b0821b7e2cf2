"""The SMTP transaction delivers the message's bytes exactly: lines starting with a dot are stuffed on the
wire and arrive as written, and the SIZE the relay is told is the message's own length."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope

from dripline.devstack.broker import free_port
from services.sender.adapters.smtp import canonical_size
from services.sender.domain.mime import build_message
from services.sender.domain.rendering.render import RenderedMessage
from services.sender.domain.rendering.template import Category
from tests.unit.sender.adapters.test_smtp import send, settings

DOTTED = b"From: shop@example.com\r\nTo: ola@example.com\r\nSubject: Dots\r\n\r\n.\r\n.hidden\r\n..two\r\nend .\r\n"


@dataclass
class Received:
    port: int
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook
        self.envelopes.append(envelope)
        return "250 2.0.0 OK: queued"


async def _serve(limit: int) -> AsyncIterator[Received]:
    received = Received(free_port())
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(received, hostname="inbox", data_size_limit=limit), host="127.0.0.1", port=received.port
    )
    yield received
    server.close()
    await server.wait_closed()


@pytest.fixture
async def inbox() -> AsyncIterator[Received]:
    async for received in _serve(1024 * 1024):
        yield received


@pytest.fixture
async def small_inbox() -> AsyncIterator[Received]:
    async for received in _serve(64):
        yield received


async def _send(port: int, data: bytes) -> tuple[int, str]:
    return await send(settings(port, smtp_tls="off"), data)


async def test_lines_starting_with_a_dot_arrive_as_written(inbox: Received) -> None:
    code, _ = await _send(inbox.port, DOTTED)

    assert code == 250
    [envelope] = inbox.envelopes
    assert envelope.original_content == DOTTED
    assert f"SIZE={len(DOTTED)}" in envelope.mail_options


async def test_a_built_message_with_dotted_lines_arrives_byte_for_byte(inbox: Received) -> None:
    text = ".\n.starts with a dot\nmiddle . dot\n" + "." * 80 + "\n"
    rendered = RenderedMessage("t1", Category.TRANSACTIONAL, "Dots", f"<p>{text}</p>", text, {})
    data = build_message(
        rendered,
        from_name="Shop",
        from_address="shop@example.com",
        to="ola@example.com",
        message_id="m-1",
        sending_domain="example.com",
        now=datetime(2024, 3, 1, tzinfo=UTC),
    )
    assert canonical_size(data) == len(data)

    assert (await _send(inbox.port, data))[0] == 250
    [envelope] = inbox.envelopes
    assert envelope.original_content == data
    assert envelope.content is not None and b".starts with a dot" in envelope.original_content


async def test_a_message_over_the_relays_size_limit_is_refused_before_its_data(small_inbox: Received) -> None:
    code, message = await _send(small_inbox.port, DOTTED)

    assert code == 552 and "size" in message.lower()
    assert small_inbox.envelopes == []


async def test_bytes_with_bare_line_feeds_go_without_a_size_and_arrive_canonical(inbox: Received) -> None:
    loose = DOTTED.replace(b"\r\n", b"\n")
    assert canonical_size(loose) is None

    assert (await _send(inbox.port, loose))[0] == 250
    [envelope] = inbox.envelopes
    assert envelope.original_content == DOTTED
    assert not any(option.upper().startswith("SIZE=") for option in envelope.mail_options)
