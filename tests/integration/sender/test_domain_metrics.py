"""After a mail goes out, every service's /metrics carries the figures a platform team alerts on: outcomes
per channel and receiving-domain group, render and SMTP times, the outbox, timer lag and consumer lag."""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.scheduler.app import create_app as create_scheduler
from services.tracker.app import create_app as create_tracker
from shared.kafka.group_lag import GroupLagWatch
from shared.settings import SchedulerSettings, TrackerSettings
from tests.integration.sender.conftest import eventually, running_sender
from tests.support.servers import serving
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack

# A receiving-domain group no other test mails, so its count moves only with this test's message.
GROUPS = "metrics-test: metrics.example -/-; other: * -/-"


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in a Prometheus text page, or None when it is absent."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return None


async def scrape(client: httpx.AsyncClient, url: str) -> str:
    response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    return response.text


async def test_every_service_exposes_delivery_backlog_and_lag_figures_after_a_mail(
    stack: RealStack, api_key: tuple[str, str], shop: httpx.AsyncClient
) -> None:
    prefix = f"{stack.topic_prefix}metrics{uuid.uuid4().hex[:4]}."
    sent = {"channel": "email", "receiving_domain": "metrics-test", "outcome": "sent"}
    async with (
        running_sender(stack, api_key[1], topic_prefix=prefix, receiving_domains=GROUPS) as sender,
        httpx.AsyncClient(timeout=10) as http,
    ):
        before = await scrape(http, sender.url)
        await sender.publish_example("welcome-hello")
        address = f"reader-{uuid.uuid4().hex[:8]}@metrics.example"
        request = await sender.request(await sender.contact(email=address, first_name="Kari"), "welcome-hello")
        await sender.settled(request.event_id, "sent")
        assert len(sender.mails_to(address)) == 1

        after = await scrape(http, sender.url)
        assert (
            sample(after, "dripline_messages_total", **sent)
            == (sample(before, "dripline_messages_total", **sent) or 0) + 1
        )
        rendered = sample(after, "dripline_sender_render_seconds_count", channel="email") or 0
        assert rendered >= (sample(before, "dripline_sender_render_seconds_count", channel="email") or 0) + 1
        relay = {"relay": f"127.0.0.1:{sender.runtime.settings.smtp_port}"}
        assert sample(after, "dripline_smtp_round_trip_seconds_count", **relay) == 1
        assert (sample(after, "dripline_smtp_round_trip_seconds_sum", **relay) or 0) > 0

        # The consumer group's lag, from the broker's committed offsets, once the sender has committed.
        settings = stack.settings(
            SchedulerSettings,
            topic_prefix=prefix,
            scheduler_intake=False,
            scheduler_timers=False,
            scheduler_analytics=False,
        )
        lag = GroupLagWatch(settings)
        try:
            await eventually(
                lambda: _committed(lag), timeout=15, what="the sender group's lag on messages.requested to be 0"
            )
        finally:
            await lag.close()

        # A scheduler process with no duties of its own still watches the outbox and the timers.
        async with serving(create_scheduler(settings)) as scheduler_url:
            scheduler = await eventually(
                lambda: _with(http, scheduler_url, "dripline_timer_lag_seconds"), what="the backlog gauges"
            )
        for gauge in ("dripline_outbox_records", "dripline_outbox_oldest_seconds", "dripline_timer_lag_seconds"):
            value = sample(scheduler, gauge)
            assert value is not None and value >= 0, gauge
        lagged = {"group": "sender", "topic": "messages.requested"}
        assert sample(scheduler, "dripline_consumer_group_lag", **lagged) == 0

        tracker_settings = stack.settings(TrackerSettings, topic_prefix=prefix)
        async with serving(create_tracker(tracker_settings)) as tracker_url:
            tracker = await scrape(http, tracker_url)
        assert sample(tracker, "dripline_tracker_engagements_waiting") is not None

    await shop.post("/v1/events", json={"type": "track", "name": "x", "contact": {"external_id": "metrics-1"}})
    ingest = (await shop.get("/metrics")).text
    assert (
        sample(ingest, "dripline_http_requests_total", service="ingest", route="/v1/events", status="202") or 0
    ) >= 1


async def _committed(lag: GroupLagWatch) -> bool:
    found = await lag.refresh()
    return found.get(("sender", "messages.requested")) == 0


async def _with(http: httpx.AsyncClient, url: str, name: str) -> str | None:
    text = await scrape(http, url)
    return text if sample(text, name) is not None else None
