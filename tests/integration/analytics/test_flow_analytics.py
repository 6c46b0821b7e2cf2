"""Two hundred readers through a 50/50 subject test on the real stack: the reports count what the inbox
and the tracker saw, survive a replay, name the better subject, credit revenue to the clicked message,
show the same numbers in Chromium, and the declared winner goes to new entrants only."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from dripline import report_cli
from dripline.devstack.inbox import ReceivedMail
from dripline.report_cli import report_app
from shared.contract import Engagement
from shared.contract.topics import AB_WINNERS, ENGAGEMENT, MESSAGES_REQUESTED, MESSAGES_STATUS, TRANSITIONS, Topic
from shared.kafka.consumer import Incoming
from shared.kafka.producer import Producer
from shared.settings import CommonSettings
from shared.tokens import TokenClaims, key_ring_from_setting
from tests.integration.sender.conftest import eventually
from tests.support.system import KEYS, link
from tests.support.topics import read_topic

from .conftest import Shop

pytestmark = pytest.mark.stack

READERS = 200
OPEN = {"a": 0.6, "b": 0.25}  # deterministic: a seeded generator decides who opens and clicks
CLICK = {"a": 0.5, "b": 0.2}
PERSON = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"
APPLE_PROXY = "Mozilla/5.0"
SCANNER = "Mimecast-URL-Protect/2.1"
ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
STEPS = ("send_a", "send_b")
COUNTED = ("delivered", "opened", "clicked", "machine_opened", "machine_clicked")


@dataclass
class Driven:
    expected: dict[str, Counter[str]]
    clicked: list[tuple[str, TokenClaims]]  # (email, message) with a human click


RING = key_ring_from_setting(KEYS.get_secret_value())


def _claims(mail: ReceivedMail) -> TokenClaims:
    """What the mail's open pixel says about it: message, contact, flow and step."""
    return RING.verify(link(mail, "o").rsplit("/", 1)[1])


def _variant(mail: ReceivedMail) -> str:
    return str(_claims(mail).step_id).removeprefix("send_")


async def _mails(shop: Shop, emails: list[str]) -> list[ReceivedMail]:
    wanted = set(emails)

    async def arrived() -> list[ReceivedMail] | None:
        # One mail per message: a retried send may deliver a message twice (at least once).
        found = {str(m.message["Message-ID"]): m for m in shop.sender.inbox.mails if wanted & set(m.rcpt_tos)}
        return list(found.values()) if len(found) >= len(wanted) else None

    return await eventually(arrived, timeout=40, what=f"{len(wanted)} mails")


def _human_click(claims: TokenClaims, url: str) -> Engagement:
    now = datetime.now(UTC)
    return Engagement(
        event_id=f"click-{claims.message_id}", workspace_id=claims.workspace_id, contact_id=claims.contact_id,
        occurred_at=now, received_at=now, flow_id=claims.flow_id, step_id=claims.step_id,
        message_id=claims.message_id, kind="clicked", url=url,
    )  # fmt: skip


async def _steps(shop: Shop) -> dict[str, dict[str, Any]]:
    report = await shop.report("/flows/subject-test")
    return {row["step_id"]: row for row in report["steps"]}


async def _counts_reach(shop: Shop, expected: dict[str, Counter[str]]) -> dict[str, dict[str, Any]]:
    last: list[object] = []

    async def probe() -> dict[str, dict[str, Any]] | None:
        steps = await _steps(shop)
        seen = {s: {k: steps.get(s, {}).get("counts", {}).get(k, 0) for k in COUNTED} for s in STEPS}
        last[:] = [seen]
        return steps if all(seen[s] == {k: expected[s][k] for k in COUNTED} for s in STEPS) else None

    try:
        return await eventually(probe, timeout=20, what="the report to count every open and click")
    except AssertionError as error:
        raise AssertionError(f"{error}: expected {dict(expected)}, counted {last}") from None


@pytest.fixture(scope="module")
async def driven(shop: Shop) -> Driven:
    emails = await shop.sign_up(READERS, "first")
    mails = sorted(await _mails(shop, emails), key=lambda m: m.rcpt_tos[0])
    rng = random.Random(20261126)
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    clicks: list[Engagement] = []
    clicked: list[tuple[str, TokenClaims]] = []
    async with httpx.AsyncClient() as reader:
        for index, mail in enumerate(mails):
            variant, pixel, claims = _variant(mail), link(mail, "o"), _claims(mail)
            counts = expected[f"send_{variant}"]
            counts["delivered"] += 1
            if rng.random() < OPEN[variant]:
                for _ in range(1 + index % 2):  # some read twice: still one unique open
                    assert (await reader.get(pixel, headers={"User-Agent": PERSON})).status_code == 200
                counts["opened"] += 1
                if rng.random() < CLICK[variant]:
                    clicks.append(_human_click(claims, f"https://example.com/{variant}"))
                    clicked.append((mail.rcpt_tos[0], claims))
                    counts["clicked"] += 1
            if index % 10 == 0:
                await reader.get(pixel, headers={"User-Agent": APPLE_PROXY})
                counts["machine_opened"] += 1
            if index % 7 == 0:  # a corporate link scanner follows every link
                await reader.get(link(mail, "c"), headers={"User-Agent": SCANNER}, follow_redirects=False)
                counts["machine_clicked"] += 1
    producer = Producer(shop.stack.settings(CommonSettings, topic_prefix=shop.own_stack().topic_prefix))
    await producer.start()
    try:
        await producer.publish(ENGAGEMENT, clicks)
    finally:
        await producer.stop()
    await _counts_reach(shop, expected)
    return Driven(expected, clicked)


async def test_counts_equal_what_the_inbox_and_the_tracker_saw(shop: Shop, driven: Driven) -> None:
    steps = await _steps(shop)
    assert sum(driven.expected[s]["delivered"] for s in STEPS) == READERS
    for step in STEPS:
        counts = steps[step]["counts"]
        assert {k: counts[k] for k in COUNTED} == {k: driven.expected[step][k] for k in COUNTED}
        assert counts["requested"] == counts["sent"] == counts["delivered"] == driven.expected[step]["delivered"]
        assert steps[step]["open_rate"] == pytest.approx(counts["opened"] / counts["delivered"])
    assert steps["pick"]["counts"]["reached"] == READERS
    # The tracker's own records, made unique per message, give the same numbers.
    records = await read_topic(
        shop.own_stack(), ENGAGEMENT, count=1, where=lambda r: r.get("workspace_id") == shop.workspace_id, settle=1.0
    )
    seen: dict[tuple[str, str, bool], set[str]] = defaultdict(set)
    for record in records:
        seen[(record["step_id"], record["kind"], record["machine"])].add(record["message_id"])
    for step in STEPS:
        assert len(seen[(step, "opened", False)]) == steps[step]["counts"]["opened"]
        assert len(seen[(step, "opened", True)]) == steps[step]["counts"]["machine_opened"]
        assert len(seen[(step, "clicked", True)]) == steps[step]["counts"]["machine_clicked"]
    flows = await shop.report("/flows")
    assert [f["flow_id"] for f in flows] == ["subject-test"] and flows[0]["counts"]["entered"] == READERS


async def _records(shop: Shop, topic: Topic, count: int) -> list[Incoming]:
    found = await read_topic(
        shop.own_stack(), topic, count=count, where=lambda r: r.get("workspace_id") == shop.workspace_id, settle=0.5
    )
    adapter = topic.adapter()
    return [
        Incoming(topic, r["__key__"], adapter.validate_python({k: v for k, v in r.items() if not k.startswith("__")}),
                 0, offset)
        for offset, r in enumerate(found)
    ]  # fmt: skip


async def test_replaying_every_topic_leaves_the_counts_unchanged(shop: Shop, driven: Driven) -> None:
    before = await shop.report("/flows/subject-test")
    replay = [
        *await _records(shop, MESSAGES_REQUESTED, READERS),
        *await _records(shop, TRANSITIONS, READERS),
        *await _records(shop, MESSAGES_STATUS, READERS),
        *await _records(shop, ENGAGEMENT, 1),
    ]
    for start in range(0, len(replay), 300):
        await shop.analytics.fold.handle(replay[start : start + 300])
    assert await shop.report("/flows/subject-test") == before


async def test_the_significance_test_names_the_better_subject(shop: Shop, driven: Driven) -> None:
    ab = await shop.report("/flows/subject-test/ab", metric="opened")
    rows = {row["variant"]: row for row in ab["variants"]}
    assert ab["split_step"] == "pick" and ab["significant"] and ab["better"] == "a" and ab["p_value"] < 0.01
    assert rows["a"]["entered"] + rows["b"]["entered"] == READERS
    for variant, row in rows.items():
        assert row["opened"] == driven.expected[f"send_{variant}"]["opened"]
        assert row["low"] < row["rate"] < row["high"]
    assert rows["a"]["probability_best"] > 0.99


async def test_revenue_after_a_click_is_credited_to_that_message(shop: Shop, driven: Driven) -> None:
    buyers = driven.clicked[:3]
    for n, (email, _) in enumerate(buyers):
        await shop.buy(email, f"order-{n}", "100.50")

    async def credited() -> dict[str, Any] | None:
        report = await shop.report("/flows/subject-test")
        return report if sum(r["orders"] for r in report["summary"]["revenue"]) >= len(buyers) else None

    report = await eventually(credited, timeout=15, what="revenue to be credited")
    assert report["summary"]["revenue"] == [{"currency": "NOK", "orders": 3, "revenue": "301.5000"}]
    by_step = Counter(claims.step_id for _, claims in buyers)
    for row in report["steps"]:
        orders = sum(r["orders"] for r in row["revenue"])
        assert orders == by_step.get(row["step_id"], 0)

    async def converted() -> int | None:
        goals = (await shop.report("/flows"))[0]["counts"]["goal_reached"]
        return goals if goals == 3 else None

    assert await eventually(converted, timeout=15, what="three conversions") == 3


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (make browser)")
async def test_the_dashboard_shows_the_api_numbers_in_chromium(shop: Shop, driven: Driven, tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.async_api")
    report = await shop.report("/flows/subject-test")
    ab = await shop.report("/flows/subject-test/ab")
    async with playwright.async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = await browser.new_page(
                extra_http_headers={"X-Api-Key": shop.key}, viewport={"width": 1150, "height": 900}
            )
            await page.goto(str(shop.reports.base_url.join("/dashboard/flows/subject-test")))
            for row in report["steps"]:
                for metric in ("reached", "delivered", "opened", "clicked", "machine_opened"):
                    cell = page.locator(f'td[data-metric="{metric}"][data-step="{row["step_id"]}"]')
                    assert await cell.inner_text() == str(row["counts"][metric])
            for variant in ab["variants"]:
                cell = page.locator(f'td[data-metric="rate"][data-variant="{variant["variant"]}"]')
                assert await cell.inner_text() == f"{variant['rate'] * 100:.1f}%"
            assert "a is better" in await page.locator('[data-metric="better"]').inner_text()
            assert await page.locator("svg.funnel").count() == 1 and await page.locator("svg.ab circle").count() == 2
            # The docs' screenshot is refreshed only on request, so a test run leaves the tree clean.
            refresh = os.environ.get("DRIPLINE_REFRESH_SCREENSHOTS") == "1"
            shot = ROOT / "docs" / "dashboard.png" if refresh else tmp_path / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        finally:
            await browser.close()


def test_the_report_command_prints_the_funnel_the_ab_verdict_and_cohorts(
    shop: Shop, driven: Driven, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", shop.stack.database_url)
    monkeypatch.setattr(report_cli, "console", Console(width=200))

    def report(*args: str) -> str:
        result = CliRunner().invoke(report_app, [*args, "--workspace", shop.workspace_id])
        assert result.exit_code == 0, result.output
        return result.output

    assert "subject-test" in report("flows")
    funnel = report("flow", "subject-test")
    for step in STEPS:
        line = next(line for line in funnel.splitlines() if f" {step} " in line)
        assert str(driven.expected[step]["delivered"]) in line and str(driven.expected[step]["opened"]) in line
    assert "a is better" in report("ab", "subject-test")
    cohorts = report("cohorts", "--flow", "subject-test")
    assert "subject-test" in cohorts and str(READERS) in cohorts


async def test_the_declared_winner_goes_to_new_entrants_only(shop: Shop, driven: Driven) -> None:
    async def declared() -> dict[str, Any] | None:
        return (await shop.report("/flows/subject-test/ab"))["winner"]

    winner = await eventually(declared, timeout=15, what="the auto-winner")
    assert winner["variant"] == "a" and winner["metric"] == "opened"
    [notice] = await read_topic(
        shop.own_stack(), AB_WINNERS, count=1, where=lambda r: r["workspace_id"] == shop.workspace_id
    )
    assert (notice["flow_id"], notice["step_id"], notice["variant"]) == ("subject-test", "pick", "a")
    assert notice["__key__"] == "subject-test"
    before = {row["variant"]: row["entered"] for row in (await shop.report("/flows/subject-test/ab"))["variants"]}
    await asyncio.sleep(5.5)  # the scheduler re-reads winners every few seconds
    emails = await shop.sign_up(20, "later")
    mails = await _mails(shop, emails)
    assert {_variant(mail) for mail in mails} == {"a"}

    async def counted() -> dict[str, int] | None:
        rows = (await shop.report("/flows/subject-test/ab"))["variants"]
        entered = {row["variant"]: row["entered"] for row in rows}
        return entered if sum(entered.values()) == READERS + 20 else None

    after = await eventually(counted, timeout=15, what="the new entrants to be counted")
    assert after == {"a": before["a"] + 20, "b": before["b"]}
