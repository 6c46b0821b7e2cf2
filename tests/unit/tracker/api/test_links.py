"""The lean path in front of FastAPI: opens and clicks are answered there, everything else goes on."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from services.tracker.app import TrackerApp, create_app
from services.tracker.domain.pixel import TRANSPARENT_GIF
from shared.contract.topics import ENGAGEMENT
from shared.settings import TrackerSettings
from shared.tokens import KeyRing, TokenClaims, TokenKind

KEYS = "k1:lean-path-test-secret-0123456789"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
ring = KeyRing([("k1", b"lean-path-test-secret-0123456789")])


def link(kind: TokenKind, url: str | None = None, message: str = "m-1") -> str:
    claims = TokenClaims(kind, message, "w-1", "c-1", int(time.time()) - 3600, "f-1", "s-1", url)
    return f"/{kind.value[0]}/{ring.sign(claims)}"


@pytest.fixture
def app() -> TrackerApp:
    return create_app(TrackerSettings(link_signing_keys=KEYS))


@pytest.fixture
async def client(app: TrackerApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t.example") as client:
        yield client


def recorded(app: TrackerApp) -> list[dict[str, object]]:
    """What the hits handed to the buffer, as consumers will read it."""
    waiting = app.state.engagements._waiting
    assert all(record.topic is ENGAGEMENT for record in waiting)
    return [orjson.loads(record.value) for record in waiting]


def hits_counted(kind: str, machine: bool) -> float:
    labels = {"kind": kind, "machine": str(machine).lower()}
    return REGISTRY.get_sample_value("dripline_tracker_hits_total", labels) or 0.0


async def test_an_open_gets_the_pixel_and_one_opened_record(app: TrackerApp, client: httpx.AsyncClient) -> None:
    before = hits_counted("open", machine=False)
    response = await client.get(link(TokenKind.OPEN), headers={"User-Agent": BROWSER})

    assert response.status_code == 200 and response.content == TRANSPARENT_GIF
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["cache-control"].startswith("no-store")
    [record] = recorded(app)
    assert (record["kind"], record["message_id"], record["machine"]) == ("opened", "m-1", False)
    assert hits_counted("open", machine=False) == before + 1


async def test_a_click_redirects_to_the_signed_url_with_its_query_intact(
    app: TrackerApp, client: httpx.AsyncClient
) -> None:
    url = "https://shop.example/søk?q=socks&utm_source=dripline#top"
    response = await client.get(link(TokenKind.CLICK, url), headers={"User-Agent": BROWSER})

    assert response.status_code == 302
    assert response.headers["location"] == "https://shop.example/s%C3%B8k?q=socks&utm_source=dripline#top"
    assert response.headers["referrer-policy"] == "no-referrer"
    [record] = recorded(app)
    assert (record["kind"], record["url"]) == ("clicked", "https://shop.example/søk")  # the query may name the reader


async def test_a_query_string_on_a_tracked_link_does_not_stop_the_hit(
    app: TrackerApp, client: httpx.AsyncClient
) -> None:
    response = await client.get(link(TokenKind.OPEN) + "?utm_campaign=x&cb=123", headers={"User-Agent": BROWSER})

    assert response.status_code == 200 and response.content == TRANSPARENT_GIF
    assert len(recorded(app)) == 1


async def test_head_requests_are_answered_without_a_body_and_count_as_machines(
    app: TrackerApp, client: httpx.AsyncClient
) -> None:
    before = hits_counted("click", machine=True)
    opened = await client.head(link(TokenKind.OPEN), headers={"User-Agent": BROWSER})
    clicked = await client.head(link(TokenKind.CLICK, "https://shop.example/"), headers={"User-Agent": BROWSER})

    assert (opened.status_code, opened.content, opened.headers["content-type"]) == (200, b"", "image/gif")
    assert clicked.status_code == 302 and clicked.headers["location"] == "https://shop.example/"
    assert [(r["kind"], r["machine_reason"]) for r in recorded(app)] == [
        ("opened", "HEAD request"),
        ("clicked", "HEAD request"),
    ]
    assert hits_counted("click", machine=True) == before + 1


@pytest.mark.parametrize("path", ["/o/", "/c/"])
async def test_a_tampered_token_gets_the_error_page_no_redirect_and_no_record(
    app: TrackerApp, client: httpx.AsyncClient, path: str
) -> None:
    genuine = link(TokenKind.CLICK, "https://shop.example/") if path == "/c/" else link(TokenKind.OPEN)
    key_id, payload, mac = genuine[3:].split(".")
    forged = ring.sign(TokenClaims(TokenKind.CLICK, "m-1", "w-1", "c-1", 1, url="https://evil.example/")).split(".")[1]
    before = REGISTRY.get_sample_value("dripline_tracker_invalid_links_total") or 0.0

    other_tail = "BB" if mac.endswith("AA") else "AA"  # a MAC that differs from the genuine one, always
    for bad in (
        f"{key_id}.{forged}.{mac}",
        f"{key_id}.{payload}.{mac[:-2]}{other_tail}",
        f"zz.{payload}.{mac}",
        "not-a-token",
    ):
        response = await client.get(path + bad, headers={"User-Agent": BROWSER})
        assert response.status_code == 400 and "location" not in response.headers
        assert "not valid" in response.text

    assert recorded(app) == []
    assert REGISTRY.get_sample_value("dripline_tracker_invalid_links_total") == before + 4


async def test_a_token_of_the_other_kind_is_refused(app: TrackerApp, client: httpx.AsyncClient) -> None:
    as_click = await client.get("/c/" + link(TokenKind.OPEN)[3:])
    as_open = await client.get("/o/" + link(TokenKind.CLICK, "https://shop.example/")[3:])

    assert as_click.status_code == 400 and as_open.status_code == 400
    assert recorded(app) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/o/{token}"), ("GET", "/o/{token}/more"), ("GET", "/o/"), ("GET", "/x/{token}"), ("GET", "/oo/{token}")],
)
async def test_requests_that_are_not_hits_go_on_to_the_framework(
    app: TrackerApp, client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path.format(token=link(TokenKind.OPEN)[3:]))

    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == "application/json"  # FastAPI's answer, not the pixel
    assert recorded(app) == []


async def test_the_service_routes_still_answer_behind_the_lean_path(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    unsubscribe = await client.get(link(TokenKind.UNSUB))

    assert health.json() == {"status": "ok", "service": "tracker"}
    assert unsubscribe.status_code == 200 and "Unsubscribe" in unsubscribe.text
    assert "dripline_tracker_hits_total" in (await client.get("/metrics")).text
