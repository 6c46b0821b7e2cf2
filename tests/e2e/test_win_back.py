"""Win-back on the real stack: a customer whose last purchase crosses the lapsed threshold enters the shipped
`lapsed-customers` segment and the `win-back` flow with no event posted, and the first email arrives."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
import yaml

from shared.contract.topics import SEGMENT_CHANGES
from tests.integration.scheduler.conftest import publish
from tests.integration.sender.conftest import EXAMPLES, eventually
from tests.support.stack import ROOT, RealStack
from tests.support.system import System, running_system
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack
T = TypeVar("T")
THRESHOLD = timedelta(seconds=4)


@pytest.fixture(scope="module")
async def system(stack: RealStack) -> AsyncIterator[System]:
    async with running_system(stack, "winback") as running:
        for template in ("winback-miss-you", "winback-offer", "winback-last-chance"):
            await running.sender.runtime.templates.publish(
                running.workspace_id, (EXAMPLES / f"{template}.yaml").read_text()
            )
        await publish(running.scheduler, (ROOT / "examples" / "flows" / "win-back.yaml").read_text())
        # The shipped segment, with a threshold of seconds instead of 120 days: the test's own copy.
        segment = yaml.safe_load((ROOT / "examples" / "segments" / "lapsed-customers.yaml").read_text())
        assert segment["condition"] == "contact.facts.last_purchase_at < now - duration('120d')"
        segment["condition"] = segment["condition"].replace("120d", f"{THRESHOLD.seconds}s")
        saved = await running.scheduler.post("/v1/segments", json=segment)
        assert saved.status_code == 201, saved.text
        yield running


async def _nonempty(found: list[T]) -> list[T] | None:
    return found or None


async def test_a_customer_who_stops_buying_gets_the_win_back_email_when_the_threshold_passes(system: System) -> None:
    email = f"kari.{uuid.uuid4().hex[:8]}@example.com"
    consent = {"marketing": True, "topics": ["shop-offers"]}  # the flow's topic
    signup = {"type": "signup", "contact": {"email": email, "first_name": "Kari"}, "consent": consent}
    assert (await system.ingest.post("/v1/events", json=signup)).status_code == 202
    purchase = {"type": "purchase", "contact": {"email": email}, "order_id": "o-1", "revenue": "49", "currency": "EUR"}
    assert (await system.ingest.post("/v1/events", json=purchase)).status_code == 202
    bought = datetime.now(UTC)  # the last thing posted about Kari

    [mail] = await eventually(lambda: _nonempty(system.sender.mails_to(email)), timeout=30, what="the win-back email")
    arrived = datetime.now(UTC)
    assert mail.subject == "We miss you, Kari"
    assert "It has been a while." in (mail.part("plain") or "")
    assert arrived - bought >= THRESHOLD - timedelta(seconds=1)  # not before the purchase had lapsed

    [entered] = await read_topic(
        system.stack,
        SEGMENT_CHANGES,
        count=1,
        where=lambda r: r.get("workspace_id") == system.workspace_id and r.get("change") == "entered",
    )
    assert (entered["segment_id"], entered["cause"]) == ("lapsed-customers", "time")
