"""Webhook posts: connected at the address that was checked (DNS rebinding), replies kept as a status only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

from services.sender.adapters.targets import TargetGuard
from services.sender.adapters.webhooks import WebhookSender
from shared.smtp_replies import Outcome
from tests.support.network import LabNetwork, StubResolver
from tests.support.servers import serving

PUBLIC = "8.8.8.8"


@dataclass
class Receiver:
    """A webhook receiver on loopback that records each call's headers."""

    port: int = 0
    calls: list[dict[str, str]] = field(default_factory=list)


def receiver_app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        receiver.calls.append(dict(request.headers))
        return Response(status_code=204)

    @app.post("/refuse")
    async def refuse() -> Response:
        return Response("Traceback: db password=hunter2 at 10.0.0.5", status_code=400)

    @app.post("/endless")
    async def endless() -> StreamingResponse:
        async def forever() -> AsyncIterator[bytes]:
            while True:
                yield b"x" * 65_536
                await asyncio.sleep(0)

        return StreamingResponse(forever())

    return app


@dataclass
class Hosts:
    internal: Receiver  # a service inside our network, on loopback: must never be called
    public: Receiver  # the shop's real receiver, which the test network routes 8.8.8.8 to


@pytest.fixture
async def hosts() -> AsyncIterator[Hosts]:
    found = Hosts(Receiver(), Receiver())
    async with serving(receiver_app(found.internal)) as internal, serving(receiver_app(found.public)) as public:
        found.internal.port = urlsplit(internal).port or 0
        found.public.port = urlsplit(public).port or 0
        yield found


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The runtime's client, which lends the webhook sender its timeouts."""
    async with httpx.AsyncClient(timeout=2) as lent:
        yield lent


def sender(client: httpx.AsyncClient, guard: TargetGuard, *, attempts: int = 1) -> WebhookSender:
    return WebhookSender(client, b"secret", attempts=attempts, allow_private=False, backoff_seconds=0, guard=guard)


async def test_a_rebinding_name_is_connected_at_the_public_address_it_was_checked_with(
    hosts: Hosts, client: httpx.AsyncClient
) -> None:
    """The name answers a public address first and loopback after: the post goes to the first, once."""
    resolver = StubResolver({"hooks.example": [[PUBLIC], ["127.0.0.1"]]})
    network = LabNetwork(routes={(PUBLIC, hosts.internal.port): ("127.0.0.1", hosts.public.port)})
    url = f"http://hooks.example:{hosts.internal.port}/hook"

    result = await sender(client, TargetGuard(resolve=resolver, connector=network)).send(url, {"order": 1})

    assert result.outcome is Outcome.SENT
    assert resolver.asked == ["hooks.example"]  # resolved once: no second lookup to connect
    assert network.asked == [(PUBLIC, hosts.internal.port)]
    assert hosts.internal.calls == []
    [call] = hosts.public.calls
    assert call["host"] == f"hooks.example:{hosts.internal.port}"  # the Host header keeps the name


async def test_a_retry_resolves_again_and_is_refused_once_the_name_turns_private(
    hosts: Hosts, client: httpx.AsyncClient
) -> None:
    resolver = StubResolver({"hooks.example": [[PUBLIC], ["127.0.0.1"]]})
    network = LabNetwork()  # the public address is unreachable: the first attempt fails to connect
    url = f"http://hooks.example:{hosts.internal.port}/hook"

    result = await sender(client, TargetGuard(resolve=resolver, connector=network), attempts=3).send(url, {})

    assert result.outcome is Outcome.FAILED
    assert result.detail.startswith("webhook refused: hooks.example resolves to 127.0.0.1, a private address")
    assert network.asked == [(PUBLIC, hosts.internal.port)]  # never loopback
    assert hosts.internal.calls == []


async def test_a_receivers_reply_is_kept_as_its_status_and_standard_phrase_only(
    hosts: Hosts, client: httpx.AsyncClient
) -> None:
    guard = TargetGuard(allow_private=True)

    refused = await sender(client, guard).send(f"http://127.0.0.1:{hosts.public.port}/refuse", {})

    assert refused.outcome is Outcome.FAILED
    assert refused.detail == "webhook answered 400 Bad Request"


async def test_an_endless_reply_body_is_never_read(hosts: Hosts, client: httpx.AsyncClient) -> None:
    started = time.monotonic()

    result = await sender(client, TargetGuard(allow_private=True)).send(
        f"http://127.0.0.1:{hosts.public.port}/endless", {}
    )

    assert result.outcome is Outcome.SENT and result.detail == "webhook answered 200 OK"
    assert time.monotonic() - started < 1.5


async def test_an_unreachable_receiver_is_retried_with_a_reason_of_our_own(client: httpx.AsyncClient) -> None:
    resolver = StubResolver({"hooks.example": [[PUBLIC]]})
    guard = TargetGuard(resolve=resolver, connector=LabNetwork())

    result = await sender(client, guard, attempts=2).send("https://hooks.example/hook", {})

    assert result.outcome is Outcome.DEFERRED
    assert result.detail == "webhook unreachable: ConnectError: 8.8.8.8 is unreachable from the test network"
    assert resolver.asked == ["hooks.example", "hooks.example"]
