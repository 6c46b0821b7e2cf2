"""Templates in the console on the real stack: the gallery, a template previewed with a sample cart, a real
contact found by email and a language variant, in sandboxed frames with a strict policy of their own; an
editor's test send reaches the test recipients' inbox and the audit log, a viewer's is refused; another
workspace's template is not found; a request to the sender without the console's signature is refused."""

from __future__ import annotations

from html import unescape

import asyncpg
import httpx
import pytest

from services.sender.workers.link_watch import check_and_report
from shared.workspaces import save_test_recipients
from tests.integration.scheduler.conftest import new_workspace
from tests.integration.sender.conftest import EXAMPLES
from tests.integration.sender.test_link_check import site  # noqa: F401 (the fixture: a site with one good link)
from tests.support.stack import RealStack

from .conftest import ConsoleShop, Visitor

pytestmark = pytest.mark.stack
QA = "qa.console@team.example"
LINKS = """id: console-links
category: marketing
subject: Links
html: |
  <html><body><a href="{site}/good">good</a> <a href="{site}/gone">gone</a></body></html>
"""


@pytest.fixture(scope="module", autouse=True)
async def cart_template(console_shop: ConsoleShop) -> None:
    source = (EXAMPLES / "cart-reminder.yaml").read_text()
    await console_shop.system.sender.runtime.templates.publish(console_shop.workspace_id, source)


async def test_a_viewer_previews_a_template_with_a_sample_cart_a_contact_and_a_language(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    await visitor.sign_in(*console_shop.passwords["viewer"])
    gallery = await visitor.get("/console/templates")
    assert gallery.status_code == 200
    for template in ("cart-reminder", "welcome-hello", "welcome-checkin"):
        assert f'data-template="{template}"' in gallery.text
    assert "default, nb, sv" in gallery.text

    cart = await visitor.get("/console/templates/cart-reminder", sample="cart")
    assert cart.status_code == 200 and "Your cart is saved" in cart.text
    text = cart.text.split('data-part="text">', 1)[1].split("</pre>", 1)[0]
    assert "Trail shoe" in text and "https://shop.example/cart/77" in text
    assert 'data-link="https://shop.example/cart/77"' in cart.text  # the tracked link, as the reader follows it
    assert cart.text.count('sandbox=""') == 2 and "frame-src 'self'" in cart.headers["content-security-policy"]
    assert "Send a test" not in cart.text

    frame = await visitor.get("/console/templates/cart-reminder/preview.html", sample="cart")
    assert frame.status_code == 200 and "Trail shoe" in frame.text
    policy = frame.headers["content-security-policy"]
    assert "sandbox" in policy and "script-src" not in policy and "default-src 'none'" in policy

    norwegian = await visitor.get("/console/templates/cart-reminder", sample="cart", locale="nb")
    assert "Handlekurven din er lagret" in norwegian.text

    person = await visitor.get("/console/templates/welcome-hello", sample="contact", email=console_shop.emails[2])
    assert person.status_code == 200 and "Welcome, Ada2" in person.text


async def test_each_link_shows_the_daily_checks_last_result(
    console_shop: ConsoleShop,
    visitor: Visitor,
    site: str,  # noqa: F811 (the fixture imported above)
) -> None:
    sender = console_shop.system.sender
    await sender.runtime.templates.publish(console_shop.workspace_id, LINKS.format(site=site))
    await visitor.sign_in(*console_shop.passwords["viewer"])
    before = await visitor.get("/console/templates/console-links")
    assert before.text.count("not checked yet") == 2
    runtime = sender.runtime
    await check_and_report(runtime.templates, runtime.composer, sender.producer, runtime.settings,
                           workspace_id=console_shop.workspace_id)  # fmt: skip
    after = (await visitor.get("/console/templates/console-links")).text
    good = after.split(f'data-link="{site}/good">', 1)[1].split("</tr>", 1)[0]
    gone = after.split(f'data-link="{site}/gone">', 1)[1].split("</tr>", 1)[0]
    assert "200 OK" in good and "404" in gone and 'class="error"' in gone


async def test_wrong_samples_are_named_and_hostile_input_is_escaped(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    await visitor.sign_in(*console_shop.passwords["viewer"])
    nobody = await visitor.get("/console/templates/welcome-hello", sample="contact", email="nobody@example.com")
    assert nobody.status_code == 422 and "email: this workspace has no contact with the address" in nobody.text
    not_an_address = await visitor.get("/console/templates/welcome-hello", sample="contact", email="<b>x</b>")
    assert not_an_address.status_code == 422 and "<b>x</b>" not in not_an_address.text
    unknown_language = await visitor.get("/console/templates/cart-reminder", locale="xx")
    assert unknown_language.status_code == 422 and "locale: cart-reminder has no variant 'xx'" in unescape(
        unknown_language.text
    )
    assert (await visitor.get("/console/templates/cart-reminder", locale="../etc")).status_code == 422
    assert (await visitor.get("/console/templates/cart-reminder", sample="everything")).status_code == 422
    missing = await visitor.get("/console/templates/<script>alert(1)</script>")
    assert missing.status_code == 404 and "<script>alert(1)" not in missing.text


async def test_an_editor_test_sends_the_previewed_sample_and_a_viewer_is_refused(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop = console_shop
    pool: asyncpg.Pool = shop.system.scheduler_app.state.resources.pool
    await save_test_recipients(pool, shop.workspace_id, [QA])
    viewer = Visitor(shop.url)
    try:
        await viewer.sign_in(*shop.passwords["viewer"])
        refused = await viewer.post(
            "/console/templates/cart-reminder/test-send", {"csrf": await viewer.csrf(), "sample": "cart"}
        )
        assert refused.status_code == 403 and "your role (viewer) may not send tests" in refused.text
    finally:
        await viewer.close()
    assert shop.system.sender.mails_to(QA) == []

    await visitor.sign_in(*shop.passwords["editor"])
    csrf = await visitor.csrf("/console/templates/cart-reminder")
    forged = await visitor.post("/console/templates/cart-reminder/test-send", {"csrf": "x", "sample": "cart"})
    assert forged.status_code == 403
    sent = await visitor.post(
        "/console/templates/cart-reminder/test-send", {"csrf": csrf, "sample": "cart", "locale": "sv"}
    )
    assert sent.status_code == 200, sent.text[:500]
    assert f'data-sent="{QA}"><td>{QA}</td><td>sent</td>' in sent.text
    [mail] = shop.system.sender.mails_to(QA)
    assert mail.subject == "Din varukorg är sparad" and "Trail shoe" in (mail.part("plain") or "")
    audit = await visitor.get("/console/audit")
    entry = audit.text.split('data-audit="template.test_sent" data-target="cart-reminder"', 1)[1].split("</tr>")[0]
    assert 'data-actor="user:' in entry and "recipients 1" in entry and QA not in entry

    many = [f"qa{n}@team.example" for n in range(7)]  # more than a burst of test sends (5)
    await save_test_recipients(pool, shop.workspace_id, many)
    burst = await visitor.post("/console/templates/cart-reminder/test-send", {"csrf": csrf, "sample": "cart"})
    assert burst.status_code == 200
    refused = [to for to in many if f'data-sent="{to}"><td>{to}</td><td>refused</td>' in burst.text]
    assert refused and "too many test sends from this workspace" in burst.text  # each answered, none lost
    assert all(shop.system.sender.mails_to(to) == [] for to in refused)


async def test_another_workspaces_template_is_not_found_and_the_sender_wants_the_consoles_signature(
    console_shop: ConsoleShop, visitor: Visitor, stack: RealStack
) -> None:
    other, _ = await new_workspace(stack)
    secret = (EXAMPLES / "welcome-hello.yaml").read_text().replace("id: welcome-hello", "id: their-secret", 1)
    await console_shop.system.sender.runtime.templates.publish(other, secret)
    await visitor.sign_in(*console_shop.passwords["admin"])
    csrf = await visitor.csrf()
    assert "their-secret" not in (await visitor.get("/console/templates")).text
    assert (await visitor.get("/console/templates/their-secret")).status_code == 404
    assert (await visitor.get("/console/templates/their-secret/preview.html")).status_code == 404
    sent = await visitor.post("/console/templates/their-secret/test-send", {"csrf": csrf})
    assert sent.status_code == 404

    async with httpx.AsyncClient(base_url=console_shop.system.sender.url) as sender:
        assert (await sender.get("/internal/console/templates")).status_code == 401
        forged = await sender.get("/internal/console/templates", headers={"X-Dripline-Console": "dev.e30.AAAA"})
        assert forged.status_code == 401
