"""A DNS server on a loopback UDP port that answers TXT and CNAME questions from a dict, for tests of
`dripline domains verify` and DKIM verification. Built on dnspython's message parsing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import cast

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from dripline.devstack.broker import free_port


@dataclass
class Zone:
    """Records by (name, type); a name with no records at all answers NXDOMAIN."""

    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    questions: list[str] = field(default_factory=list)

    def add(self, name: str, kind: str, value: str) -> None:
        self.records.setdefault((name.rstrip(".").lower(), kind), []).append(value)

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        self.questions.append(f"{kind} {name}")
        values = self.records.get((name, kind), [])
        if not values and not any(known == name for known, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        if values:
            texts = [_txt(value) if kind == "TXT" else value.rstrip(".") + "." for value in values]
            response.answer.append(dns.rrset.from_text_list(question.name, 60, dns.rdataclass.IN, kind, texts))
        return response


def _txt(value: str) -> str:
    """TXT presentation form: strings of at most 255 bytes, quoted, as a long DKIM key is published."""
    chunks = [value[n : n + 255] for n in range(0, len(value), 255)] or [""]
    return " ".join('"' + chunk.replace('"', '\\"') + '"' for chunk in chunks)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        # The selector loop's datagram transport is not registered as an asyncio.DatagramTransport.
        transport = cast(asyncio.DatagramTransport, self.transport)
        transport.sendto(self.zone.answer(dns.message.from_wire(data)).to_wire(), addr)


@asynccontextmanager
async def dns_stub(zone: Zone) -> AsyncIterator[int]:
    """Serve `zone` on 127.0.0.1; yields the port."""
    port = free_port()
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Protocol(zone), local_addr=("127.0.0.1", port)
    )
    try:
        yield port
    finally:
        transport.close()
