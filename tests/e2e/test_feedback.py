"""Spam complaints and mailto unsubscribes on the whole stack: each stops the next marketing step of a running
flow within seconds (the next email never reaches the inbox), and is in the consent ledger."""

from __future__ import annotations

import asyncio
import smtplib

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from dripline.devstack.inbox import ReceivedMail
from services.tracker.workers.deliverability_watch import DeliverabilityWatch
from shared.tokens import key_ring_from_setting
from tests.e2e import test_journey
from tests.e2e.test_journey import Journey
from tests.integration.scheduler.conftest import new_workspace
from tests.support.feedback_mail import arf_report, mailto_unsubscribe
from tests.support.system import KEYS

pytestmark = pytest.mark.stack
journey = test_journey.journey  # the fixture: the welcome flow, running on the whole stack

# The journey flow sends its next email ~6 s after the welcome and another ~4 s later: wait past both.
PAST_NEXT_STEPS = 12


async def _ledger(journey: Journey, welcome: ReceivedMail) -> list[tuple[str, str]]:
    """The reader's consent ledger: who they are is what the welcome's signed unsubscribe link says."""
    token = str(welcome.message["List-Unsubscribe"]).split("/u/", 1)[1].split(">", 1)[0]
    contact_id = key_ring_from_setting(KEYS.get_secret_value()).verify(token).contact_id
    connection = await asyncpg.connect(journey.system.stack.database_url)
    try:
        rows = await connection.fetch(
            "SELECT action, source FROM consent_ledger WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id",
            journey.system.workspace_id,
            contact_id,
        )
    finally:
        await connection.close()
    return [(row["action"], row["source"]) for row in rows]


async def test_a_posted_complaint_report_stops_the_next_marketing_step(journey: Journey) -> None:
    email = await journey.sign_up("Kari")
    [welcome] = await journey.mails(email, 1)
    report = arf_report(welcome.raw)
    async with httpx.AsyncClient(base_url=journey.system.tracker_url) as fbl:
        _, other_key = await new_workspace(journey.system.stack)
        stranger = await fbl.post("/v1/bounces/dsn", content=report, headers={"X-Api-Key": other_key})
        answer = await fbl.post("/v1/bounces/dsn", content=report, headers={"X-Api-Key": journey.system.key})
    assert stranger.status_code == 404  # another workspace cannot complain about this workspace's reader
    assert answer.status_code == 200 and answer.json() == {"complaints": 1, "unsubscribes": 0}
    await asyncio.sleep(PAST_NEXT_STEPS)
    assert [mail.subject for mail in journey.sender.mails_to(email)] == [welcome.subject]
    assert ("withdraw", "complaint") in await _ledger(journey, welcome)


async def test_a_mailto_unsubscribe_by_smtp_stops_the_next_marketing_step(journey: Journey) -> None:
    email = await journey.sign_up("Ola")
    [welcome] = await journey.mails(email, 1)
    to, mail = mailto_unsubscribe(str(welcome.message["List-Unsubscribe"]), sender=email)
    forged = mail.replace(b"subject=", b"").replace(b"unsubscribe-", b"unsubscribe-x", 1)

    def deliver() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", journey.system.feedback_smtp_port, timeout=10) as mx:
            try:
                mx.sendmail(email, [to], forged)
            except smtplib.SMTPDataError as refused:
                assert refused.smtp_code == 550  # a token that does not verify changes nothing
            else:
                raise AssertionError("a forged unsubscribe was accepted")
            return mx.sendmail(email, [to], mail)

    assert await asyncio.to_thread(deliver) == {}  # accepted for its one recipient
    await asyncio.sleep(PAST_NEXT_STEPS)
    assert [mail.subject for mail in journey.sender.mails_to(email)] == [welcome.subject]
    assert ("withdraw", "mailto") in await _ledger(journey, welcome)


async def test_todays_complaint_rate_shows_on_the_dashboard_and_metrics_with_a_warning(journey: Journey) -> None:
    email = await journey.sign_up("Liv")
    [welcome] = await journey.mails(email, 1)
    async with httpx.AsyncClient(base_url=journey.system.tracker_url) as fbl:
        answer = await fbl.post(
            "/v1/bounces/dsn", content=arf_report(welcome.raw), headers={"X-Api-Key": journey.system.key}
        )
    assert answer.status_code == 200
    page = (await journey.system.scheduler.get("/dashboard")).text
    row = page[page.index("Deliverability today") :]
    assert 'data-metric="warning" data-domain="example.com"' in row
    assert "Gmail and Yahoo ask for under 0.3%" in row
    pool = await asyncpg.create_pool(journey.system.stack.database_url, min_size=1, max_size=1)
    try:
        days = await DeliverabilityWatch(pool).refresh()
    finally:
        await pool.close()
    [today] = [d for d in days if d.workspace_id == journey.system.workspace_id]
    assert today.receiving_domain == "example.com" and today.complained >= 1 and today.sent >= today.complained
    labels = {"workspace_id": journey.system.workspace_id, "receiving_domain": "example.com"}
    assert REGISTRY.get_sample_value("dripline_complaint_rate_over_limit", labels) == 1
    complaint_rate = REGISTRY.get_sample_value("dripline_email_feedback_rate_today", {**labels, "kind": "complaint"})
    assert complaint_rate == today.complained / today.sent


async def test_a_bounce_reported_later_counts_in_todays_bounces_once(journey: Journey) -> None:
    email = await journey.sign_up("Ola")
    [welcome] = await journey.mails(email, 1)
    pool = await asyncpg.create_pool(journey.system.stack.database_url, min_size=1, max_size=1)

    async def bounced_today() -> int:
        days = await DeliverabilityWatch(pool).refresh()
        [today] = [d for d in days if d.workspace_id == journey.system.workspace_id]
        assert today.receiving_domain == "example.com"
        return today.bounced

    try:
        before = await bounced_today()
        # The provider accepted the welcome, then reports the mailbox gone: twice, as webhooks may.
        message_id = str(welcome.message["Message-ID"]).strip("<>").split("@", 1)[0]
        bounce = {"type": "bounce", "email": email, "bounce_type": "hard", "status": "5.1.1", "message_id": message_id}
        async with httpx.AsyncClient(base_url=journey.system.tracker_url) as provider:
            for _ in range(2):
                answer = await provider.post("/v1/bounces", json=bounce, headers={"X-Api-Key": journey.system.key})
                assert answer.status_code == 200, answer.text
        assert await bounced_today() == before + 1
    finally:
        await pool.close()
