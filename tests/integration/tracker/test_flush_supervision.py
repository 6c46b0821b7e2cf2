"""The tracker's flush loop killed from inside: `/readyz` names it until it is back, and the hit it held is
not lost (it waits for the restarted loop, which puts it on the bus)."""

from __future__ import annotations

import time

import httpx
import pytest

from services.tracker.app import create_app as create_tracker
from shared.contract.topics import ENGAGEMENT
from shared.tokens import KeyRing, TokenKind
from tests.integration.sender.conftest import eventually
from tests.integration.sender.test_supervision import FAST, readiness
from tests.integration.test_loop_supervision import FailingOnce, down_then_back, own_prefix
from tests.integration.tracker.conftest import Person, tracker_settings
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari"


async def test_the_trackers_flush_loop_dies_comes_back_and_loses_no_hit(
    stack: RealStack, keys: KeyRing, person: Person
) -> None:
    prefix = await own_prefix(stack, "flush")
    app = create_tracker(tracker_settings(stack, topic_prefix=prefix, **FAST))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as tracker:
        await eventually(readiness(tracker, 200), what="the tracker to be ready")
        producer = app.state.resources.producer
        producer.send_all = FailingOnce(producer.send_all, RuntimeError("injected"))
        token = keys.sign(person.claims(TokenKind.OPEN, issued_at=time.time() - 3600))
        assert (await tracker.get(f"/o/{token}", headers={"User-Agent": BROWSER})).status_code == 200

        await down_then_back(tracker, "engagement-flush", "tracker")
        own = RealStack(stack.database_url, stack.bootstrap, prefix, None)
        [opened] = await read_topic(own, ENGAGEMENT, count=1, where=lambda r: r["message_id"] == person.message_id)
        assert (opened["kind"], opened["contact_id"]) == ("opened", person.contact_id)
