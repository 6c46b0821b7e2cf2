"""A template in several languages on the real stack: each reader gets the variant of their locale, else the
workspace's default locale, else the template's own language, read from the dev inbox; a retry keeps the
language first chosen."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Response

from dripline.devstack.inbox import ReceivedMail
from services.sender.usecases.link_check import check_links
from shared.workspaces import create_key, ensure_workspace
from tests.integration.sender.conftest import WORKSPACE, Sender, eventually
from tests.support.servers import serving
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack

TEMPLATE = """
id: languages-hello
category: transactional
locale: en
subject: "Welcome, {{ contact.first_name }}"
preheader: "Good to have you"
html: "<p>Hello {{ contact.first_name }}, good to have you with us.</p>"
variants:
  sv:
    subject: "Välkommen, {{ contact.first_name }}"
    html: "<p>Hej {{ contact.first_name }}, roligt att du är med.</p>"
  nb:
    subject: "Velkommen, {{ contact.first_name }}"
    html: "<p>Hei {{ contact.first_name }}, så fint at du er med.</p>"
"""


async def _mail_to(sender: Sender, locale: str, **request: Any) -> tuple[str, str]:
    email = f"lang-{uuid.uuid4().hex[:8]}@example.com"
    contact = await sender.contact(email=email, first_name="Alva", locale=locale)
    sent = await sender.request(contact, "languages-hello", category="transactional", **request)
    await sender.settled(sent.event_id, "sent")
    [mail] = await eventually(lambda: _arrived(sender, email), what=f"mail to {email}")
    return str(mail.message["Subject"]), mail.part("html") or ""


async def _arrived(sender: Sender, email: str) -> list[ReceivedMail] | None:
    return list(sender.mails_to(email)) or None


async def test_a_swedish_reader_gets_swedish_and_a_german_one_the_template_language(sender: Sender) -> None:
    await sender.runtime.templates.publish(WORKSPACE, TEMPLATE)

    subject, html = await _mail_to(sender, "sv-SE")
    assert subject == "Välkommen, Alva" and "Hej Alva, roligt att du är med." in html

    subject, html = await _mail_to(sender, "de-DE")
    assert subject == "Welcome, Alva" and "Hello Alva, good to have you with us." in html

    subject, html = await _mail_to(sender, "no")  # Norwegian without a written standard: Bokmål
    assert subject == "Velkommen, Alva" and "så fint at du er med" in html


async def test_the_language_frozen_into_the_request_wins_over_a_later_profile(sender: Sender) -> None:
    await sender.runtime.templates.publish(WORKSPACE, TEMPLATE)
    subject, html = await _mail_to(sender, "sv-SE", context={"locale": "nb-NO"})  # the flow saw nb-NO
    assert subject == "Velkommen, Alva" and "Hei Alva" in html


async def test_preview_and_test_send_render_the_language_asked_for(sender: Sender) -> None:
    address = f"tester.{uuid.uuid4().hex[:8]}@example.com"
    async with sender.client() as api:
        await api.post("/v1/templates", json={"source": TEMPLATE})
        await api.put("/v1/test-recipients", json={"addresses": [address]})
        inline = {"contact": {"first_name": "Alva"}}
        swedish = await api.post("/v1/templates/languages-hello/preview", json={**inline, "locale": "sv"})
        by_profile = await api.post(
            "/v1/templates/languages-hello/preview", json={"contact": {"first_name": "Alva", "locale": "nb-NO"}}
        )
        own = await api.post("/v1/templates/languages-hello/preview", json=inline)
        unknown = await api.post("/v1/templates/languages-hello/preview", json={**inline, "locale": "xx-nonsense"})
        sent = await api.post("/v1/templates/languages-hello/test-send", json={**inline, "to": address, "locale": "nb"})
    assert swedish.json()["subject"] == "Välkommen, Alva" and "roligt att du är med" in swedish.json()["html"]
    assert by_profile.json()["subject"] == "Velkommen, Alva"
    assert own.json()["subject"] == "Welcome, Alva"
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "locale"]
    assert sent.status_code == 200, sent.text
    [mail] = await eventually(lambda: _arrived(sender, address), what="the test send")
    assert mail.message["Subject"] == "Velkommen, Alva" and "så fint at du er med" in (mail.part("html") or "")


async def test_a_variant_that_does_not_compile_is_refused_by_name(sender: Sender) -> None:
    broken = TEMPLATE.replace("Hej {{ contact.first_name }}", "Hej {{ contact.first_name | nope }}")
    async with sender.client() as api:
        response = await api.post("/v1/templates", json={"source": broken})
    assert response.status_code == 422
    problems = response.json()["detail"]["problems"]
    assert problems and all(problem.startswith("variants.sv.") for problem in problems), problems


async def test_the_link_check_follows_the_links_of_every_language(sender: Sender) -> None:
    app = FastAPI()

    @app.api_route("/en", methods=["GET", "HEAD"])
    async def english() -> Response:
        return Response("fine")

    workspace = f"langlinks-{uuid.uuid4().hex[:6]}"
    async with serving(app) as site:
        source = LINKS.format(site=site)
        await sender.runtime.templates.publish(workspace, source)
        results = await check_links(
            sender.runtime.templates, sender.runtime.composer, workspace_id=workspace, timeout=2, allow_private=True
        )
    by_url = {result.url: result for result in results}
    assert set(by_url) == {f"{site}/en", f"{site}/nb"}
    assert not by_url[f"{site}/en"].broken
    assert by_url[f"{site}/nb"].problem == "HTTP 404"  # only the Norwegian variant links there


LINKS = """id: language-links
category: marketing
subject: Links
preheader: Links
html: '<a href="{site}/en">read</a>'
variants:
  nb:
    html: '<a href="{site}/nb">les</a>'
"""


CART = {
    "type": "cart_abandoned",
    "cart_url": "https://shop.example/cart/77",
    "items": [{"name": "Trail shoe", "quantity": 1, "price": "1299.00", "url": "https://shop.example/p/shoe"}],
    "currency": "NOK",
}


async def _cart_reminder_to(sender: Sender, locale: str) -> tuple[str, str]:
    email = f"cart-{uuid.uuid4().hex[:8]}@example.com"
    contact = await sender.contact(email=email, first_name="Alva", locale=locale)
    sent = await sender.request(contact, "cart-reminder", category="marketing", context={"event": CART})
    await sender.settled(sent.event_id, "sent")
    [mail] = await eventually(lambda: _arrived(sender, email), what=f"mail to {email}")
    return str(mail.message["Subject"]), mail.part("html") or ""


async def test_a_swedish_reader_gets_swedish_and_a_german_one_the_workspace_default(sender: Sender) -> None:
    await sender.publish_example("cart-reminder")  # English, with Norwegian and Swedish variants
    async with sender.client() as api:
        put = await api.put("/v1/default-locale", json={"locale": "nb"})
        assert put.status_code == 200 and (await api.get("/v1/default-locale")).json() == {"locale": "nb"}
        try:
            subject, html = await _cart_reminder_to(sender, "sv-SE")
            assert subject == "Din varukorg är sparad" and "Ingen brådska" in html and "Trail shoe" in html
            subject, html = await _cart_reminder_to(sender, "de-DE")  # no German variant: the workspace's nb
            assert subject == "Handlekurven din er lagret" and "Ingen hast" in html
            subject, _ = await _cart_reminder_to(sender, "en-GB")  # the template's own language stays its own
            assert subject == "Your cart is saved"
            preview = await api.post("/v1/templates/cart-reminder/preview", json={"locale": "de", "event": CART})
            assert preview.json()["subject"] == "Handlekurven din er lagret"
        finally:
            await api.put("/v1/default-locale", json={"locale": None})
    subject, _ = await _cart_reminder_to(sender, "de-DE")  # without a default: the template's own fields
    assert subject == "Your cart is saved"


async def test_the_default_locale_is_the_workspaces_own_and_a_bad_one_is_refused_by_name(
    sender: Sender, stack: RealStack
) -> None:
    other = f"locale-{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(stack.database_url)
    try:
        await ensure_workspace(connection, other, "Another shop")
        key = await create_key(connection, other, "tests", scopes=["admin"])
    finally:
        await connection.close()
    async with httpx.AsyncClient(base_url=sender.url, headers={"X-Api-Key": key}, timeout=10) as api:
        assert (await api.put("/v1/default-locale", json={"locale": "sv"})).status_code == 200
        bad = await api.put("/v1/default-locale", json={"locale": "xx-nonsense"})
        missing = await api.put("/v1/default-locale", json={})
        assert (await api.get("/v1/default-locale")).json() == {"locale": "sv"}
    async with sender.client() as mine:
        assert (await mine.get("/v1/default-locale")).json() == {"locale": None}  # shop-one's is untouched
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "locale"]
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "locale"]
