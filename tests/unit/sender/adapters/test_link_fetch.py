"""Fetching template links: every redirect hop and every connection checked, bodies never read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from services.sender.adapters.link_fetch import MAX_REDIRECTS, LinkFetcher
from services.sender.adapters.targets import TargetGuard
from tests.support.network import LabNetwork, StubResolver
from tests.support.servers import serving

PUBLIC = "8.8.8.8"


@dataclass
class Site:
    """The shop's site, reached as shop.example (8.8.8.8 routed to loopback), and an internal
    service on loopback that must never be reached."""

    port: int = 0
    internal_port: int = 0
    internal_calls: list[str] = field(default_factory=list)

    def network(self) -> LabNetwork:
        return LabNetwork(routes={(PUBLIC, self.port): ("127.0.0.1", self.port)})


def site_app(site: Site) -> FastAPI:
    app = FastAPI()

    @app.api_route("/ok", methods=["GET", "HEAD"])
    async def ok() -> Response:
        return Response("fine")

    @app.api_route("/get-only", methods=["GET"])
    async def get_only() -> Response:
        return Response("fine")

    @app.api_route("/moved", methods=["GET", "HEAD"])
    async def moved() -> RedirectResponse:
        return RedirectResponse("/ok", status_code=301)

    @app.api_route("/loop", methods=["GET", "HEAD"])
    async def loop() -> RedirectResponse:
        return RedirectResponse("/loop", status_code=302)

    @app.api_route("/to/{where}", methods=["GET", "HEAD"])
    async def to(where: str) -> RedirectResponse:
        targets = {
            "loopback": f"http://127.0.0.1:{site.internal_port}/admin",
            "internal-name": f"http://internal.example:{site.internal_port}/admin",
            "metadata": "http://169.254.169.254/latest/meta-data/",
            "file": "file:///etc/passwd",
        }
        return RedirectResponse(targets[where], status_code=302)

    @app.api_route("/endless", methods=["GET", "HEAD"])
    async def endless() -> StreamingResponse:
        async def forever() -> AsyncIterator[bytes]:
            while True:
                yield b"x" * 65_536
                await asyncio.sleep(0)

        return StreamingResponse(forever())

    return app


def internal_app(site: Site) -> FastAPI:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "HEAD"])
    async def anything(request: Request) -> Response:
        site.internal_calls.append(request.url.path)
        return Response("secrets")

    return app


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    found = Site()
    async with serving(site_app(found)) as public, serving(internal_app(found)) as internal:
        found.port, found.internal_port = urlsplit(public).port or 0, urlsplit(internal).port or 0
        yield found


def guard(site: Site, resolver: StubResolver | None = None) -> TargetGuard:
    resolver = resolver or StubResolver({"shop.example": [[PUBLIC]], "internal.example": [["10.0.0.5"]]})
    return TargetGuard(resolve=resolver, connector=site.network())


async def status(site: Site, path: str, resolver: StubResolver | None = None) -> tuple[int | None, str | None]:
    async with LinkFetcher(timeout=2, guard=guard(site, resolver)) as fetcher:
        return await fetcher.status(f"http://shop.example:{site.port}{path}")


async def test_a_good_link_and_a_redirect_between_public_pages_pass(site: Site) -> None:
    assert await status(site, "/ok") == (200, None)
    assert await status(site, "/moved") == (200, None)


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("loopback", "127.0.0.1 is a private address"),
        ("internal-name", "internal.example resolves to 10.0.0.5, a private address"),
        ("metadata", "169.254.169.254 is a private address"),
        ("file", "not an http(s) URL: file://shop.example/etc/passwd"),
    ],
)
async def test_a_redirect_to_a_private_address_is_refused(site: Site, where: str, reason: str) -> None:
    code, problem = await status(site, f"/to/{where}")
    assert code is None and problem is not None and problem.startswith(f"redirect refused: {reason}")
    assert site.internal_calls == []


async def test_a_redirect_loop_stops_after_a_few_hops(site: Site) -> None:
    assert await status(site, "/loop") == (None, "TooManyRedirects")
    assert MAX_REDIRECTS == 5


async def test_each_connection_is_checked_so_a_name_turning_private_between_head_and_get_is_refused(
    site: Site,
) -> None:
    """HEAD is refused (405), so the check opens a second connection for GET: by then the name answers
    loopback, and the GET is refused instead of reaching the internal service."""
    resolver = StubResolver({"shop.example": [[PUBLIC], ["127.0.0.1"]]})
    network = site.network()
    async with LinkFetcher(timeout=2, guard=TargetGuard(resolve=resolver, connector=network)) as fetcher:
        result = await fetcher.status(f"http://shop.example:{site.port}/get-only")

    assert result == (None, "shop.example resolves to 127.0.0.1, a private address (not publicly routable)")
    assert network.asked == [(PUBLIC, site.port)]
    assert site.internal_calls == []


async def test_an_endless_page_is_judged_by_its_status_without_reading_it(site: Site) -> None:
    started = time.monotonic()
    assert await status(site, "/endless") == (200, None)
    assert time.monotonic() - started < 1.5
