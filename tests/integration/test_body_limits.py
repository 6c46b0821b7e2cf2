"""Every service refuses an oversize body with a quick 413, announced or streamed, and stays ready."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.http import LINGER_BYTES, LINGER_SECONDS
from shared.settings import IngestSettings, SchedulerSettings, SenderSettings, TrackerSettings
from tests.support.stack import RealStack
from tests.support.system import System, running_system

pytestmark = pytest.mark.stack

# A route of each service that reads its body, and that service's limit.
ROUTES = {
    "ingest": ("/v1/contacts", IngestSettings().ingest_max_body_bytes),
    "scheduler": ("/v1/flows", SchedulerSettings().scheduler_max_body_bytes),
    "sender": ("/v1/templates", SenderSettings().sender_max_body_bytes),
    "tracker": ("/v1/bounces/dsn", TrackerSettings().tracker_max_body_bytes),
}
CHUNK = b"x" * 65_536
JSON = {"Content-Type": "application/json"}
# Bytes a client can push before it hears the 413: what the sockets' buffers hold, and then some.
BUFFERED = 16 * 1024 * 1024


@pytest.fixture(scope="module")
async def system(stack: RealStack) -> AsyncIterator[System]:
    async with running_system(stack, "limits") as running:
        yield running


def client(system: System, service: str) -> httpx.AsyncClient:
    base = {
        "ingest": str(system.ingest.base_url),
        "scheduler": str(system.scheduler.base_url),
        "sender": system.sender.url,
        "tracker": system.tracker_url,
    }[service]
    return httpx.AsyncClient(base_url=base, headers={"X-Api-Key": system.key}, timeout=10)


async def still_ready(system: System, service: str) -> None:
    async with client(system, service) as again:
        ready = await again.get("/readyz")
    assert ready.status_code == 200, ready.text


@pytest.mark.parametrize("service", ROUTES)
async def test_an_announced_oversize_body_gets_413_at_once(system: System, service: str) -> None:
    path, limit = ROUTES[service]
    async with client(system, service) as shop:
        started = time.monotonic()
        response = await shop.post(path, content=b"x" * (limit + 1), headers=JSON)

    assert response.status_code == 413, response.text
    assert time.monotonic() - started < 2
    await still_ready(system, service)


def chunks(total: int, counter: list[int]) -> AsyncIterator[bytes]:
    """`total` bytes sent chunked, without a Content-Length; `counter` holds how many went out."""

    async def stream() -> AsyncIterator[bytes]:
        while counter[0] < total:
            counter[0] += len(CHUNK)
            yield CHUNK

    return stream()


@pytest.mark.parametrize("service", ROUTES)
async def test_a_streamed_oversize_body_gets_413_and_the_service_stays_ready(system: System, service: str) -> None:
    path, limit = ROUTES[service]
    async with client(system, service) as shop:
        started = time.monotonic()
        response = await shop.post(path, content=chunks(limit + 2_000_000, [0]), headers=JSON)

    assert response.status_code == 413, response.text
    assert response.json()["detail"] == f"request body is larger than {limit} bytes"
    assert time.monotonic() - started < 5
    await still_ready(system, service)


@pytest.mark.parametrize("service", ROUTES)
async def test_a_client_streaming_without_end_is_cut_off(system: System, service: str) -> None:
    """The service drops what follows the limit for a moment (so a client can read the 413), then hangs up."""
    path, limit = ROUTES[service]
    sent = [0]
    async with client(system, service) as shop:
        started = time.monotonic()
        try:
            answer: int | str = (await shop.post(path, content=chunks(1 << 30, sent), headers=JSON)).status_code
        except httpx.TransportError as error:
            answer = type(error).__name__

    assert answer in (413, "ReadError", "WriteError", "RemoteProtocolError")
    assert time.monotonic() - started < LINGER_SECONDS + 5
    assert sent[0] < limit + LINGER_BYTES + BUFFERED
    await still_ready(system, service)
