"""Opens and clicks through HTTP on the real stack: the answer is immediate, the record lands on the topic."""

from __future__ import annotations

import time

import httpx
import pytest

from services.tracker.domain.pixel import TRANSPARENT_GIF
from shared.contract.topics import ENGAGEMENT
from shared.tokens import KeyRing, TokenKind
from tests.integration.tracker.conftest import Person
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605"
)
APPLE_MPP = "Mozilla/5.0"


async def engagements_of(stack: RealStack, person: Person, count: int, settle: float = 0.0) -> list[dict[str, object]]:
    return await read_topic(
        stack, ENGAGEMENT, count=count, where=lambda r: r.get("message_id") == person.message_id, settle=settle
    )


async def test_open_answers_a_gif_and_records_an_open_with_the_message_ids(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    token = keys.sign(person.claims(TokenKind.OPEN))
    response = await tracker.get(f"/o/{token}", headers={"User-Agent": BROWSER})

    assert response.status_code == 200
    assert response.content == TRANSPARENT_GIF
    assert response.headers["content-type"] == "image/gif"
    assert "no-store" in response.headers["cache-control"]
    [record] = await engagements_of(stack, person, 1)
    assert record["kind"] == "opened"
    assert (record["workspace_id"], record["contact_id"]) == (person.workspace_id, person.contact_id)
    assert (record["flow_id"], record["step_id"]) == ("welcome", "s1")
    assert record["machine"] is False and record["__key__"] == person.contact_id
    ENGAGEMENT.adapter().validate_python({k: v for k, v in record.items() if not k.startswith("__")})


async def test_click_redirects_to_the_signed_url_and_records_a_click(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    url = "https://shop.example/p/socks?utm_source=dripline&a=1"
    token = keys.sign(person.claims(TokenKind.CLICK, url))
    response = await tracker.get(f"/c/{token}", headers={"User-Agent": BROWSER})

    assert response.status_code == 302
    assert response.headers["location"] == url
    [record] = await engagements_of(stack, person, 1)
    assert record["kind"] == "clicked" and record["url"] == "https://shop.example/p/socks"  # no query on the bus
    assert record["machine"] is False and record["machine_reason"] is None


async def test_tampered_click_token_gets_an_error_page_and_no_redirect(
    tracker: httpx.AsyncClient, keys: KeyRing, person: Person
) -> None:
    token = keys.sign(person.claims(TokenKind.CLICK, "https://shop.example/"))
    key_id, payload, mac = token.split(".")
    forged = keys.sign(person.claims(TokenKind.CLICK, "https://evil.example/")).split(".")[1]
    wrong_kind = keys.sign(person.claims(TokenKind.OPEN))

    altered = ("B" if mac[0] == "A" else "A") + mac[1:]  # never the signer's own spelling
    for bad in (f"{key_id}.{forged}.{mac}", f"{key_id}.{payload}.{altered}", f"zz.{payload}.{mac}", wrong_kind):
        response = await tracker.get(f"/c/{bad}", headers={"User-Agent": BROWSER})
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        assert "not valid" in response.text


async def test_a_link_signed_with_the_previous_key_still_works(
    tracker: httpx.AsyncClient, stack: RealStack, old_keys: KeyRing, person: Person
) -> None:
    token = old_keys.sign(person.claims(TokenKind.CLICK, "https://shop.example/old"))
    assert token.startswith("old.")
    response = await tracker.get(f"/c/{token}", headers={"User-Agent": BROWSER})

    assert response.status_code == 302 and response.headers["location"] == "https://shop.example/old"
    [record] = await engagements_of(stack, person, 1)
    assert record["kind"] == "clicked"


async def test_apple_privacy_proxy_and_head_requests_are_flagged_as_machines(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    opened = await tracker.get(f"/o/{keys.sign(person.claims(TokenKind.OPEN))}", headers={"User-Agent": APPLE_MPP})
    probed = await tracker.head(
        f"/c/{keys.sign(person.claims(TokenKind.CLICK, 'https://shop.example/h'))}", headers={"User-Agent": BROWSER}
    )

    assert opened.status_code == 200 and probed.status_code == 302
    records = {r["kind"]: r for r in await engagements_of(stack, person, 2)}
    assert records["opened"]["machine"] is True
    assert records["opened"]["machine_reason"] == "apple mail privacy protection"
    assert records["clicked"]["machine"] is True and records["clicked"]["machine_reason"] == "HEAD request"


async def test_clicks_right_after_delivery_or_in_a_burst_are_machines(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    fresh = keys.sign(person.claims(TokenKind.CLICK, "https://shop.example/new", issued_at=time.time()))
    await tracker.get(f"/c/{fresh}", headers={"User-Agent": BROWSER})
    for n in range(3):
        link = keys.sign(person.claims(TokenKind.CLICK, f"https://shop.example/{n}"))
        await tracker.get(f"/c/{link}", headers={"User-Agent": BROWSER})

    records = {r["url"]: r for r in await engagements_of(stack, person, 4)}
    assert records["https://shop.example/new"]["machine_reason"] == "clicked within 10s of delivery"
    # The fresh click counts towards the burst too: the third link is the third click in seconds.
    assert records["https://shop.example/1"]["machine"] is True
    assert records["https://shop.example/1"]["machine_reason"] == "3 clicks within 5s"


async def test_every_hit_is_recorded_even_on_the_same_link_in_the_same_second(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    token = keys.sign(person.claims(TokenKind.OPEN))
    for _ in range(5):
        assert (await tracker.get(f"/o/{token}", headers={"User-Agent": BROWSER})).status_code == 200

    records = await engagements_of(stack, person, 5, settle=0.3)
    assert len(records) == 5 and len({r["event_id"] for r in records}) == 5


async def test_hits_with_query_strings_and_head_pixels_reach_the_topic_and_other_paths_reach_the_app(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    token = keys.sign(person.claims(TokenKind.OPEN))
    tagged = await tracker.get(f"/o/{token}?utm_campaign=spring", headers={"User-Agent": BROWSER})
    probed = await tracker.head(f"/o/{token}", headers={"User-Agent": BROWSER})
    posted = await tracker.post(f"/o/{token}")

    assert tagged.status_code == 200 and tagged.content == TRANSPARENT_GIF
    assert probed.status_code == 200 and probed.content == b""
    assert posted.status_code in (404, 405) and posted.headers["content-type"] == "application/json"
    records = await engagements_of(stack, person, 2, settle=0.3)
    assert sorted((r["machine"], r["machine_reason"]) for r in records) == [(False, None), (True, "HEAD request")]
    metrics = (await tracker.get("/metrics")).text
    assert 'dripline_tracker_hits_total{kind="open",machine="true"}' in metrics
