"""A newsletter at 09:00 on each contact's own wall clock, on the real stack.

Two hundred and ten subscribed contacts in three time zones (Athens, Paris, UTC: 07:00, 08:00 and 09:00 UTC in
December), one unsubscribed and one hard-bounced in each zone, all in one segment. The scheduler runs on a clock that
starts at 06:55 UTC on the broadcast's date and runs 300 times faster than the wall (an hour in 12 s), so
the three local 09:00s come 12 s apart. Each contact gets it once, no earlier than their 09:00 and within
half an hour of it (before the next zone's 09:00), and the unsubscribed and bounced none, with the reasons
in the broadcast's progress. (`test_broadcast_crash.py` kills the scheduler and the sender mid-send.)
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dripline.devstack.inbox import ReceivedMail
from services.ingest.app import create_app as create_ingest
from services.scheduler.app import create_app as create_scheduler
from shared.consent import store
from shared.identity import identifier_hash
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings, IngestSettings, SchedulerSettings
from tests.integration.scheduler.conftest import until
from tests.integration.sender.conftest import Sender, eventually, running_sender
from tests.integration.test_broadcasts import TEMPLATE
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.system import KEYS, single_opt_in_workspace

pytestmark = pytest.mark.stack

SPEED = 300.0  # fake seconds per real second
ZONES = {"Europe/Athens": 7, "Europe/Paris": 8, "UTC": 9}  # the UTC hour of their 09:00 in December
PER_ZONE = 70
# From a contact's 09:00 to their mail in the inbox: real seconds of relay, sender and SMTP (on a shared
# 2-core machine), each worth five fake minutes; under the hour between two zones' 09:00.
LATE = timedelta(minutes=30)


class FastClock:
    """Held at `start` until released, then `SPEED` times faster than the wall; held again, it stands still
    (while the stack is set up and the services restart: real seconds that would otherwise be fake hours)."""

    def __init__(self, start: datetime) -> None:
        self._start, self._real, self._held = start, time.monotonic(), True

    def __call__(self) -> datetime:
        if self._held:
            return self._start
        return self._start + timedelta(seconds=(time.monotonic() - self._real) * SPEED)

    def hold(self) -> None:
        self._start, self._held = self(), True

    def release(self) -> None:
        self._real, self._held = time.monotonic(), False


@asynccontextmanager
async def scheduler_on(stack: RealStack, clock: Callable[[], datetime], **shared: Any) -> AsyncIterator[str]:
    settings = stack.settings(
        SchedulerSettings, timer_poll_seconds=0.2, outbox_poll_seconds=0.2, broadcast_poll_seconds=0.1, **shared
    )
    app = create_scheduler(settings, clock=clock)
    async with serving(app) as url:
        await until(lambda: app.state.scheduler.consuming, timeout=30)
        yield url


def arrivals(inboxes: list[Sender], run: str) -> dict[str, list[ReceivedMail]]:
    found: dict[str, list[ReceivedMail]] = {}
    for sender in inboxes:
        for mail in sender.inbox.mails:
            for address in mail.rcpt_tos:
                if run in address:
                    found.setdefault(address, []).append(mail)
    return found


@pytest.mark.timeout(300)
async def test_each_contact_gets_the_newsletter_once_at_nine_on_their_own_clock(
    stack: RealStack,
) -> None:
    run = uuid.uuid4().hex[:6]
    prefix = f"{stack.topic_prefix}bcast{secrets.token_hex(2)}."
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    workspace_id, key = await single_opt_in_workspace(stack)
    shared: dict[str, Any] = {
        "topic_prefix": prefix,
        "link_signing_keys": KEYS,
        "tracker_public_url": "http://127.0.0.1:9",
    }
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    clock = FastClock(datetime(day.year, day.month, day.day, 6, 55, tzinfo=UTC))
    headers = {"X-Api-Key": key}
    people = {
        f"{zone.split('/')[-1].lower()}{i}.{run}@example.com": zone for zone in ZONES for i in range(PER_ZONE + 2)
    }
    unsubscribed = {email for email in people if email.split(".")[0].endswith(str(PER_ZONE))}
    bounced = {email for email in people if email.split(".")[0].endswith(str(PER_ZONE + 1))}
    inboxes: list[Sender] = []
    async with AsyncExitStack() as outer:
        ingest_url = await outer.enter_async_context(serving(create_ingest(stack.settings(IngestSettings, **shared))))
        ingest = await outer.enter_async_context(httpx.AsyncClient(base_url=ingest_url, headers=headers, timeout=30))
        services = AsyncExitStack()
        # Everything shares this test's event loop: a lease renewal late by a second must not look like a dead
        # sender (the test sender's stale time is 1 s) and send its messages again.
        sender = await services.enter_async_context(running_sender(stack, key, stale_send_seconds=30.0, **shared))
        inboxes.append(sender)
        scheduler_url = await services.enter_async_context(scheduler_on(stack, clock, **shared))
        scheduler = httpx.AsyncClient(base_url=scheduler_url, headers=headers, timeout=30)
        source = TEMPLATE.format(id=f"nine-{run}", subject=f"Good morning {run}", body="the news at nine")
        await sender.runtime.templates.publish(workspace_id, source)
        segment = {"id": f"nine-{run}", "name": "Nine", "condition": f'"nine-{run}" in contact.tags'}
        assert (await scheduler.post("/v1/segments", json=segment)).status_code == 201
        events = [{"type": "signup", "contact": {"email": email, "timezone": zone, "tags": [f"nine-{run}"]},
                   "consent": {"marketing": True}} for email, zone in people.items()]  # fmt: skip
        assert (await ingest.post("/v1/events/batch", json={"events": events})).status_code == 202

        async def segment_filled() -> bool:
            found = (await scheduler.get(f"/v1/segments/nine-{run}")).json()
            return bool(found["members"] == len(people))

        await eventually(segment_filled, timeout=60, what="the segment")
        for email in unsubscribed:
            contact_id = await sender.db.fetchval(
                "SELECT contact_id FROM contacts WHERE workspace_id = $1 AND profile->>'email' = $2",
                workspace_id,
                email,
            )
            answer = await ingest.put(f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {"*": False}})
            assert answer.status_code == 200, answer.text
        # A hard bounce as the tracker records one: the address is suppressed for everything.
        for email in bounced:
            hashed = identifier_hash(workspace_id, "email", email)
            await store.suppress_everything(sender.db, workspace_id, hashed, "bounced", "bounce-webhook")

        broadcast = {"id": f"nine-{run}", "name": "Nine o'clock news", "templates": [f"nine-{run}"],
                     "audience": {"kind": "segment", "segment": f"nine-{run}"},
                     "schedule": {"kind": "local_time", "date": day.isoformat(), "time": "09:00"}}  # fmt: skip
        assert (await scheduler.post("/v1/broadcasts", json=broadcast)).status_code == 201
        assert (await scheduler.post(f"/v1/broadcasts/nine-{run}/schedule", json={})).status_code == 200
        clock.release()

        seen: dict[str, datetime] = {}

        def watch() -> None:
            now = clock()
            for address in arrivals(inboxes, run):
                seen.setdefault(address, now)

        async def everyone() -> bool:
            watch()
            return len(seen) == 3 * PER_ZONE

        try:
            await eventually(everyone, timeout=90, what="every subscribed contact's mail")

            async def sent() -> dict[str, Any] | None:
                """Sent, and the sender's ledger says each message went: none is left to arrive twice."""
                found: dict[str, Any] = (await scheduler.get(f"/v1/broadcasts/nine-{run}")).json()
                went = sum(variant["delivered"] for variant in found["funnel"].values())
                return found if found["state"] == "sent" and went == 3 * PER_ZONE else None

            final = await eventually(sent, timeout=30, what="the broadcast to end")
        finally:
            await scheduler.aclose()
            await services.aclose()

    mails = arrivals(inboxes, run)
    twice = {
        a: [(m.message["Message-ID"], m.received_at.isoformat()) for m in ms] for a, ms in mails.items() if len(ms) != 1
    }
    assert twice == {}
    assert set(mails) == set(people) - unsubscribed - bounced
    for address, at in sorted(seen.items()):
        nine = datetime(day.year, day.month, day.day, ZONES[people[address]], tzinfo=UTC)
        assert nine <= at <= nine + LATE, (address, at, nine)
    assert final["progress"]["sent"] == 3 * PER_ZONE
    assert final["progress"]["held"] == {"contact unsubscribed": 3, "email address bounced": 3}
