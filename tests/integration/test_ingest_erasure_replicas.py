"""Two ingest replicas: an erasure through one reaches the other's memory of returning customers (through the
audit log's `contact.erased` entries), so the other stops putting the person's events on the bus under the
erased id: it looks them up and drops them, as erasure says."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.ingest.app import create_app
from shared.contract.topics import EVENTS
from shared.settings import IngestSettings
from tests.integration.sender.conftest import eventually
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def test_an_erasure_through_one_replica_stops_the_other_publishing_the_erased_persons_events(
    stack: RealStack, api_key: tuple[str, str]
) -> None:
    own = stack  # the session's topics: events are told apart by their names
    run = uuid.uuid4().hex[:8]
    email = f"kari.{run}@example.com"
    headers = {"X-Api-Key": api_key[1]}
    first, second = create_app(own.settings(IngestSettings)), create_app(own.settings(IngestSettings))
    async with (
        serving(first) as first_url,
        serving(second) as second_url,
        httpx.AsyncClient(base_url=first_url, headers=headers, timeout=30) as one,
        httpx.AsyncClient(base_url=second_url, headers=headers, timeout=30) as other,
    ):
        identified = await one.post("/v1/contacts", json={"email": email, "first_name": "Kari"})
        assert identified.status_code == 202, identified.text
        contact_id = identified.json()["contact_id"]
        viewed = {"type": "track", "name": f"viewed-before-{run}", "contact": {"email": email}}
        assert (await one.post("/v1/events", json=viewed)).status_code == 202
        [before] = await read_topic(own, EVENTS, count=1, where=lambda r: r.get("name") == f"viewed-before-{run}")
        assert before["contact_id"] == contact_id  # the first replica now knows Kari without a query

        erased = await other.delete(f"/v1/contacts/{contact_id}")
        assert erased.status_code == 200, erased.text

        async def forgotten() -> bool:
            return first.state.intake.contacts.known(api_key[0], [("email", email)]) is None

        await eventually(forgotten, timeout=30, what="the first replica to learn of the erasure")
        assert first.state.erasure_watch.applied >= 1
        after = {"type": "track", "name": f"viewed-after-{run}", "contact": {"email": email}}
        assert (await one.post("/v1/events", json=after)).status_code == 202  # accepted, and dropped
        later = f"viewed-after-{run}"
        dropped = await read_topic(own, EVENTS, count=1, where=lambda r: r.get("name") == later, timeout=3)
        assert dropped == []
        assert (await one.get("/v1/contacts", params={"email": email})).status_code == 404

        # And the first replica still serves everyone else, from its cache as before.
        other_email = f"ola.{uuid.uuid4().hex[:8]}@example.com"
        ola = {"type": "track", "name": f"viewed-ola-{run}", "contact": {"email": other_email}}
        assert (await one.post("/v1/events", json=ola)).status_code == 202
        assert len(await read_topic(own, EVENTS, count=1, where=lambda r: r.get("name") == f"viewed-ola-{run}")) == 1
