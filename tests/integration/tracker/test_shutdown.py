"""Shutting down sends every buffered hit before the producer closes."""

from __future__ import annotations

import httpx
import pytest

from services.tracker.app import create_app
from shared.contract.topics import ENGAGEMENT
from shared.tokens import KeyRing, TokenKind
from tests.integration.tracker.conftest import Person, tracker_settings
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def test_shutdown_flushes_hits_still_waiting_in_memory(stack: RealStack, keys: KeyRing, person: Person) -> None:
    # A flush interval far beyond the test: only the shutdown can send these.
    settings = tracker_settings(stack, tracker_flush_interval_ms=600_000, tracker_flush_batch=10_000)
    app = create_app(settings)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        for n in range(20):
            link = keys.sign(person.claims(TokenKind.CLICK, f"https://shop.example/{n}"))
            assert (await client.get(f"/c/{link}", headers={"User-Agent": "Mozilla/5.0 Firefox/130"})).is_redirect
        assert len(app.state.engagements) == 20

    assert len(app.state.engagements) == 0
    records = await read_topic(stack, ENGAGEMENT, count=20, where=lambda r: r["message_id"] == person.message_id)
    assert sorted(r["url"] for r in records) == sorted(f"https://shop.example/{n}" for n in range(20))
