"""A test network for outbound requests: a resolver stub and a connector that records every address
it is asked to connect to.

Public addresses reach only the local servers they are routed to (the sandbox has no internet);
loopback is connected for real, so a guard that let a request through would be caught by the
local server seeing it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address

import httpcore

Address = tuple[str, int]


@dataclass
class StubResolver:
    """Answers each name with its list of answers in turn, repeating the last one."""

    answers: Mapping[str, Sequence[list[str]]]
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        turn = sum(1 for name in self.asked if name == host)
        self.asked.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return list(answers[min(turn, len(answers) - 1)])


@dataclass
class LabNetwork(httpcore.AsyncNetworkBackend):
    """Connects `routes` (a public address and port → a local server) and loopback; nothing else."""

    routes: dict[Address, Address] = field(default_factory=dict)
    asked: list[Address] = field(default_factory=list)
    # With `handshake_only`, every connection "succeeds" and its TLS handshake records the name it
    # would verify, then fails.
    handshake_only: bool = False
    server_names: list[str | None] = field(default_factory=list)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.asked.append((host, port))
        if self.handshake_only:
            return _HandshakeRecorder(self.server_names)
        target = self.routes.get((host, port))
        if target is None and not ip_address(host).is_loopback:
            raise httpcore.ConnectError(f"{host} is unreachable from the test network")
        real_host, real_port = target or (host, port)
        return await httpcore.AnyIOBackend().connect_tcp(real_host, real_port, timeout=timeout)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise NotImplementedError

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _HandshakeRecorder(httpcore.AsyncNetworkStream):
    def __init__(self, names: list[str | None]) -> None:
        self._names = names

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        self._names.append(server_hostname)
        raise httpcore.ConnectError("handshake recorded")

    async def aclose(self) -> None:
        return None
