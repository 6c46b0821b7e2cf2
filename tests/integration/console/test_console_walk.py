"""A marketer walks the console in Debian's Chromium on the real stack: signs in, finds a person by email
and reads their timeline, opens a flow's map and sees the reports API's numbers on it, pauses and resumes
the flow and finds both in the audit log; a viewer cannot pause; creates a broadcast and follows it until it
is sent. Screenshots go to docs/console/ only with
DRIPLINE_REFRESH_SCREENSHOTS=1, so a test run leaves the tree clean."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.sender.conftest import EXAMPLES

from .conftest import FLOW_ID, NEWS, ConsoleShop

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (make browser)"),
]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    playwright = pytest.importorskip("playwright.async_api")
    async with playwright.async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


class Shots:
    def __init__(self, tmp_path: Path) -> None:
        refresh = os.environ.get("DRIPLINE_REFRESH_SCREENSHOTS") == "1"
        self.folder = ROOT / "docs" / "console" if refresh else tmp_path
        self.folder.mkdir(parents=True, exist_ok=True)

    async def take(self, page: Any, name: str) -> None:
        shot = self.folder / f"{name}.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def _sign_in(page: Any, shop: ConsoleShop, role: str) -> None:
    email, password = shop.passwords[role]  # type: ignore[index]
    await page.goto(f"{shop.url}/console")
    assert "/console/login" in page.url
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{shop.url}/console/flows")


async def test_a_marketer_finds_a_person_reads_a_flow_map_and_pauses_and_resumes_it(
    console_shop: ConsoleShop, browser: Any, tmp_path: Path
) -> None:
    shots, shop = Shots(tmp_path), console_shop
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await page.goto(f"{shop.url}/console/login")
    await shots.take(page, "login")
    await _sign_in(page, shop, "admin")
    report = await shop.report()
    row = page.locator(f'tr[data-flow="{FLOW_ID}"]')
    assert await row.locator('[data-metric="entered"]').inner_text() == str(report["summary"]["counts"]["entered"])
    await shots.take(page, "flows")

    await page.get_by_role("link", name="People").click()
    await page.get_by_label("Find a person").fill(shop.emails[1])
    await shots.take(page, "people")
    await page.get_by_role("button", name="Find").click()
    await page.wait_for_url("**/console/people/*")
    assert await page.locator('[data-field="email"]').inner_text() == shop.emails[1]
    timeline = await page.locator("table.timeline").inner_text()
    assert f"entered {FLOW_ID} v1" in timeline and "email sent" in timeline and "signup" in timeline
    await shots.take(page, "person")
    await page.locator("a[data-read]").first.click()  # the welcome they got, read as they read it
    await page.wait_for_url("**/messages/*")
    body = await page.locator('[data-part="text"]').inner_text()
    [mail] = [m for m in shop.system.sender.mails_to(shop.emails[1]) if m.subject in await page.title()]
    greeting = next(line for line in body.splitlines() if "Ada1" in line)
    assert greeting.strip() in (mail.part("plain") or "")
    assert await page.locator("iframe[sandbox]").count() == 1
    await shots.take(page, "message")

    await page.goto(f"{shop.url}/console/flows")
    await page.get_by_role("link", name="Console welcome").click()
    await page.wait_for_url(f"**/console/flows/{FLOW_ID}")
    report = await shop.report()
    for step in report["steps"]:
        for metric, value in step["counts"].items():
            cell = page.locator(f'svg.flow-map [data-metric="{metric}"][data-step="{step["step_id"]}"]')
            if await cell.count():
                assert await cell.text_content() == str(value), (step["step_id"], metric)
    assert await page.locator('svg.flow-map [data-metric="delivered"][data-step="hello"]').text_content() == "5"
    await shots.take(page, "flow")

    await page.get_by_role("link", name="Pause…").click()
    await page.get_by_role("button", name="Yes, pause it").click()
    await page.wait_for_url("**?done=paused")
    assert await page.locator("[data-status]").inner_text() == "paused"
    assert (await shop.system.scheduler.get(f"/v1/flows/{FLOW_ID}")).json()["paused"] is True
    await page.get_by_role("link", name="Resume…").click()
    await page.get_by_role("button", name="Yes, resume it").click()
    await page.wait_for_url("**?done=resumed")
    assert (await shop.system.scheduler.get(f"/v1/flows/{FLOW_ID}")).json()["paused"] is False

    await page.get_by_role("link", name="Audit log", exact=True).click()
    admin = shop.passwords["admin"][0]
    for action in ("flow.paused", "flow.resumed"):
        entry = page.locator(f'tr[data-audit="{action}"][data-target="{FLOW_ID}"]').first
        assert admin in await entry.inner_text()  # the log holds the user's id; the page shows their email
        assert (await entry.locator("[data-actor]").get_attribute("data-actor") or "").startswith("user:")
    await shots.take(page, "audit")

    await page.get_by_role("link", name="Policy", exact=True).click()
    await page.wait_for_url(f"{shop.url}/console/policy")
    assert await page.get_by_role("button", name="Save the policy").count() == 1
    await shots.take(page, "policy")

    phone = await browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    await _sign_in(phone, shop, "viewer")
    await phone.goto(f"{shop.url}/console/people?q={shop.emails[1]}")
    await shots.take(phone, "person-phone")


async def test_a_viewer_sees_no_pause_button_and_is_refused_when_pausing_anyway(
    console_shop: ConsoleShop, browser: Any
) -> None:
    page = await browser.new_page()
    await _sign_in(page, console_shop, "viewer")
    await page.goto(f"{console_shop.url}/console/flows/{FLOW_ID}")
    assert await page.get_by_role("link", name="Pause…").count() == 0
    refused = await page.goto(f"{console_shop.url}/console/flows/{FLOW_ID}/pause")
    assert refused is not None and refused.status == 403
    assert "your role (viewer) may not pause flows" in await page.locator("[data-refusal]").inner_text()
    await page.goto(f"{console_shop.url}/console/flows")
    csrf = await page.locator('input[name="csrf"]').first.get_attribute("value")
    answer = await page.request.post(f"{console_shop.url}/console/flows/{FLOW_ID}/pause", form={"csrf": csrf})
    assert answer.status == 403
    assert (await console_shop.system.scheduler.get(f"/v1/flows/{FLOW_ID}")).json()["paused"] is False


async def test_a_viewer_cannot_erase_and_an_admin_erases_a_person_found_in_the_audit_log(
    console_shop: ConsoleShop, browser: Any, tmp_path: Path
) -> None:
    shots, shop = Shots(tmp_path), console_shop
    viewer = await browser.new_page()
    await _sign_in(viewer, shop, "viewer")
    await viewer.goto(f"{shop.url}/console/people?q={shop.emails[3]}")
    contact_id = await viewer.locator('[data-field="contact_id"]').inner_text()
    assert await viewer.get_by_role("link", name="Erase…").count() == 0
    csrf = await viewer.locator('input[name="csrf"]').first.get_attribute("value")
    forged = await viewer.request.post(f"{shop.url}/console/people/{contact_id}/erase", form={"csrf": csrf})
    assert forged.status == 403
    assert (await shop.system.ingest.get(f"/v1/contacts/{contact_id}")).status_code == 200

    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await _sign_in(page, shop, "admin")
    await page.goto(f"{shop.url}/console/people?q={shop.emails[3]}")
    await page.get_by_role("link", name="Erase…").click()
    await page.wait_for_url(f"**/console/people/{contact_id}/erase")
    await shots.take(page, "erase")
    await page.get_by_role("button", name="Yes, erase this person").click()
    await page.wait_for_url(f"**/console/people?erased={contact_id}")
    assert (await shop.system.ingest.get(f"/v1/contacts/{contact_id}")).status_code == 404
    await page.get_by_role("link", name="Audit log", exact=True).click()
    entry = page.locator(f'tr[data-audit="contact.erased"][data-target="{contact_id}"]')
    assert shop.passwords["admin"][0] in await entry.inner_text()


async def test_a_marketer_creates_a_broadcast_and_follows_it_until_it_is_sent(
    console_shop: ConsoleShop, browser: Any, tmp_path: Path
) -> None:
    shots, shop = Shots(tmp_path), console_shop
    await shop.system.sender.runtime.templates.publish(shop.workspace_id, NEWS)
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await _sign_in(page, shop, "editor")
    await page.get_by_role("link", name="Broadcasts").click()
    await page.get_by_role("link", name="New broadcast…").click()
    await page.get_by_label("Id").fill("walk-news")
    await page.get_by_label("Name").fill("December news")
    await page.get_by_label("Template").fill("console-news")
    await page.get_by_label("now", exact=True).check()
    await shots.take(page, "broadcast-new")
    await page.get_by_role("button", name="Create the broadcast").click()
    await page.wait_for_url(f"{shop.url}/console/broadcasts/walk-news")
    for _ in range(60):  # the send takes a second or two; a marketer would reload
        if await page.locator("[data-status]").inner_text() == "sent":
            break
        await page.wait_for_timeout(250)
        await page.reload()
    status = (await shop.system.scheduler.get("/v1/broadcasts/walk-news")).json()
    assert status["state"] == "sent" and status["progress"]["sent"] == status["progress"]["resolved"] > 0
    assert any(mail.subject == "News from the console" for mail in shop.system.sender.mails_to(shop.emails[0]))
    sent = page.locator('section [data-metric="sent"]').first
    assert await sent.inner_text() == str(status["progress"]["sent"])
    await shots.take(page, "broadcast")
    await page.get_by_role("link", name="Broadcasts").click()
    assert await page.locator('tr[data-broadcast="walk-news"] [data-status]').inner_text() == "sent"
    await shots.take(page, "broadcasts")


async def test_a_marketer_previews_a_cart_template_with_a_sample_cart(
    console_shop: ConsoleShop, browser: Any, tmp_path: Path
) -> None:
    shots, shop = Shots(tmp_path), console_shop
    source = (EXAMPLES / "cart-reminder.yaml").read_text()
    await shop.system.sender.runtime.templates.publish(shop.workspace_id, source)
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await _sign_in(page, shop, "editor")
    await page.get_by_role("link", name="Templates").click()
    await page.wait_for_url(f"{shop.url}/console/templates")
    await shots.take(page, "templates")
    await page.get_by_role("link", name="cart-reminder").click()
    await page.wait_for_url(f"{shop.url}/console/templates/cart-reminder")
    assert "event is missing" in await page.locator("[data-problem]").inner_text()  # a cart needs a cart
    await page.get_by_label("a sample cart").check()
    await page.get_by_role("button", name="Preview").click()
    await page.wait_for_url("**sample=cart**")
    for width in ("desktop", "phone"):
        shown = page.frame_locator(f"iframe.{width}").locator("body")
        assert "Trail shoe" in await shown.inner_text(), width  # the sample cart's product, in the email
    assert "Trail shoe" in await page.locator('[data-part="text"]').inner_text()
    assert await page.get_by_role("button", name="Send a test to the test recipients").count() == 1
    await shots.take(page, "template")
