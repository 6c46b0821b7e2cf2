"""Every example flow on the real stack, as a shop would run it: realistic events posted to ingest, the flow
(waits shortened in the test's own copy) decides, the sender renders, and the delivered emails, texts and
webhooks are compared with the committed snapshots in `golden/`.

All flows run at once, each in a workspace of its own, on one start-up of the four services.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from dripline.devstack.inbox import ReceivedMail
from shared.contract.topics import TRANSITIONS
from tests.e2e.golden_shop import DOMAIN, GoldenShop, Outcome
from tests.integration.scheduler.conftest import new_workspace
from tests.support.golden import (
    FLOWS,
    TEMPLATES,
    compare,
    hook_snapshot,
    mail_snapshot,
    quick_copy,
    sms_snapshot,
    unrendered,
)
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.system import System, link, running_system
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

WHEN = "2030-03-04T09:30:00Z"  # when orders and forms happened: fixed, so emails quoting it read the same
CART_ITEMS = [
    {"product_id": "shoe-42", "name": "Trail shoe Fjellvind", "quantity": 1, "price": "1299.00",
     "url": "https://shop.example/p/shoe-42", "image_url": "https://cdn.shop.example/shoe-42.jpg"},
    {"product_id": "sock-7", "name": "Wool socks", "quantity": 2, "price": "149.00",
     "url": "https://shop.example/p/sock-7"},
]  # fmt: skip


@dataclass
class Hooks:
    """The shop's CRM: records every webhook and refuses those about contacts in `refuse`."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks/{flow}/{step}")
        async def hook(flow: str, step: str, request: Request) -> Response:
            body = await request.json()
            self.received.append((f"/hooks/{flow}/{step}", body))
            return Response(status_code=403 if body.get("contact_id") in self.refuse else 200)

        return app

    def about(self, contact_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(path, body) for path, body in self.received if body.get("contact_id") == contact_id]


Scenario = Callable[[GoldenShop, Hooks], Awaitable[Outcome]]


# -- the scenarios: one per example flow ------------------------------------------------------------------


async def abandoned_cart(shop: GoldenShop, hooks: Hooks) -> Outcome:
    kari = await shop.customer("kari@golden.example", "Kari", source="checkout", topics=["shop-offers"], locale="nb")
    cart = {"type": "cart_abandoned", "contact": {"email": "kari@golden.example"}, "currency": "NOK"}
    await shop.event({**cart, "cart_id": "c-1", "items": CART_ITEMS[:1], "value": "1299.00",
                      "cart_url": "https://shop.example/cart/c-1"})  # fmt: skip
    await shop.processed(kari, "cart_abandoned")  # the second cart is the one the flow starts on
    await shop.event({**cart, "cart_id": "c-2", "items": CART_ITEMS, "value": "1597.00",
                      "cart_url": "https://shop.example/cart/c-2"})  # fmt: skip
    # Anna's cart comes without a link back to it: both emails are skipped with the reason, never sent blank.
    anna = await shop.customer("anna@golden.example", "Anna", source="checkout", topics=["shop-offers"])
    bare = {**cart, "contact": {"email": "anna@golden.example"}, "items": CART_ITEMS}
    await shop.event({**bare, "cart_id": "c-3"})
    await shop.processed(anna, "cart_abandoned")
    await shop.event({**bare, "cart_id": "c-4"})
    return await shop.outcome([kari, anna])


async def browse_abandonment(shop: GoldenShop, hooks: Hooks) -> Outcome:
    ida = await shop.customer("ida@golden.example", "Ida", topics=["shop-offers"])
    look = {"type": "product_viewed", "contact": {"email": "ida@golden.example"}, "name": "Trail shoe Fjellvind",
            "url": "https://shop.example/p/shoe-42"}  # fmt: skip
    await shop.event(look)
    await shop.processed(ida, "product_viewed")  # the second look is the one the flow starts on
    await shop.event(look)
    return await shop.outcome([ida])


async def engagement_follow_up(shop: GoldenShop, hooks: Hooks) -> Outcome:
    eva = await shop.customer("eva@golden.example", "Eva", topics=["shop-offers"])  # opens, never clicks
    odd = await shop.customer("odd@golden.example", "Odd", topics=["shop-offers"])  # clicks, never buys
    for person in (eva, odd):
        await shop.enroll("engagement-follow-up", person)
    [announcement] = await shop.mails("eva@golden.example", 1)
    await shop.open(link(announcement, "o"))
    [announcement] = await shop.mails("odd@golden.example", 1)
    await shop.follow(link(announcement, "c"))
    return await shop.outcome([eva, odd])


async def account_nurture(shop: GoldenShop, hooks: Hooks) -> Outcome:
    attributes = {"role": "decision_maker", "company": "Fjord Analytics AS"}
    ola = await shop.customer("ola@golden.example", "Ola", topics=["b2b-insights"], attributes=attributes)
    await shop.enroll("account-nurture", ola)
    [_, case_study] = await shop.mails("ola@golden.example", 2)
    await shop.follow(link(case_study, "c"))
    return await shop.outcome([ola])


async def birthday(shop: GoldenShop, hooks: Hooks) -> Outcome:
    liv = await shop.customer("liv@golden.example", "Liv", topics=["shop-offers"], attributes={"tier": "gold"})
    await shop.enroll("birthday", liv)
    return await shop.outcome([liv])


async def post_purchase(shop: GoldenShop, hooks: Hooks) -> Outcome:
    per = await shop.customer("per@golden.example", "Per", source="checkout", topics=["shop-offers"])
    await shop.event({
        "type": "purchase", "occurred_at": WHEN, "contact": {"email": "per@golden.example"}, "order_id": "A-10042",
        "items": CART_ITEMS, "revenue": "1597.00", "currency": "NOK",
    })  # fmt: skip
    return await shop.outcome([per])


async def self_segmented_welcome(shop: GoldenShop, hooks: Hooks) -> Outcome:
    mia = await shop.customer("mia@golden.example", "Mia", source="newsletter-form", topics=["newsletter"],
                              interests=["cycling"])  # fmt: skip
    [general] = await shop.mails("mia@golden.example", 1)
    running = await shop.follow(link(general, "c"))  # the first link: running
    assert running == "https://example.com/running"
    return await shop.outcome([mia])


async def trial_onboarding(shop: GoldenShop, hooks: Hooks) -> Outcome:
    attributes = {"trial_ends_at": "2030-03-18T10:00:00Z"}
    tor = await shop.customer("tor@golden.example", "Tor", attributes=attributes)
    await shop.event({"type": "track", "name": "trial_started", "contact": {"email": "tor@golden.example"}})
    return await shop.outcome([tor])


async def web_conversion(shop: GoldenShop, hooks: Hooks) -> Outcome:
    attributes = {"company": "Fjord Analytics AS", "sales_owner": "lars@fjordsales.example"}
    readers = {}
    for name in ("Nora", "Sven", "Eirik"):
        email = f"{name.lower()}@golden.example"
        readers[name] = await shop.customer(email, name, source="pricing-guide", attributes=attributes)
        await shop.event({
            "type": "form_submitted", "name": "pricing-guide", "occurred_at": WHEN, "contact": {"email": email},
            "properties": {"document_url": "https://example.com/files/pricing-guide.pdf"},
        })  # fmt: skip
    hooks.refuse.add(readers["Eirik"])  # the CRM refuses Eirik's call task: the flow tags him instead
    for name in ("Nora", "Eirik"):  # Sven never opens the guide, so he gets the reminder
        [guide] = await shop.mails(f"{name.lower()}@golden.example", 1)
        await shop.open(link(guide, "o"))
    return await shop.outcome(list(readers.values()))


async def webinar(shop: GoldenShop, hooks: Hooks) -> Outcome:
    ane = await shop.customer(
        "ane@golden.example", "Ane", source="webinar-form", phone="+4791234567", timezone="Europe/Oslo",
        attributes={"webinar_at": "2030-03-14T17:00:00Z"},
        properties={"join_url": "https://meet.example/w/3141?t=ane", "calendar_url": "https://meet.example/w/3141.ics"},
    )  # fmt: skip
    return await shop.outcome([ane])


async def welcome_series(shop: GoldenShop, hooks: Hooks) -> Outcome:
    siri = await shop.customer("siri@golden.example", "Siri", source="newsletter-form", topics=["newsletter"])
    return await shop.outcome([siri])


async def re_engagement(shop: GoldenShop, hooks: Hooks) -> Outcome:
    """A subscriber who stays silent after the last chance: one email, then the sunset and no more."""
    vera = await shop.customer("vera@golden.example", "Vera", topics=["newsletter"])
    await shop.enroll("re-engagement", vera)
    return await shop.outcome([vera])


async def win_back(shop: GoldenShop, hooks: Hooks) -> Outcome:
    jon = await shop.customer("jon@golden.example", "Jon", topics=["shop-offers"])
    await shop.enroll("win-back", jon)
    return await shop.outcome([jon])


SCENARIOS: dict[str, Scenario] = {
    "abandoned-cart": abandoned_cart,
    "account-nurture": account_nurture,
    "browse-abandonment": browse_abandonment,
    "engagement-follow-up": engagement_follow_up,
    "birthday": birthday,
    "post-purchase": post_purchase,
    "re-engagement": re_engagement,
    "self-segmented-welcome": self_segmented_welcome,
    "trial-onboarding": trial_onboarding,
    "web-conversion": web_conversion,
    "webinar": webinar,
    "welcome-series": welcome_series,
    "win-back": win_back,
}


# Flows also run in a shop whose customers read Norwegian: those whose outcome does not hang on when a reader
# opens or clicks, so the doubled run adds no race to the suite. Unit, spam and link checks cover every variant.
NORWEGIAN = [
    "abandoned-cart", "birthday", "browse-abandonment", "trial-onboarding", "webinar", "welcome-series", "win-back",
]  # fmt: skip


@dataclass
class Golden:
    system: System
    hooks: Hooks
    shops: dict[str, GoldenShop]
    runs: dict[str, asyncio.Task[Outcome]]
    norwegian: dict[str, asyncio.Task[Outcome]]  # the NORWEGIAN flows, in shops whose customers read it


@pytest.fixture(scope="module")
async def golden(stack: RealStack) -> AsyncIterator[Golden]:
    hooks = Hooks()
    async with running_system(stack, "golden") as system, serving(hooks.app()) as hook_url:
        templates = [path.read_text() for path in sorted(TEMPLATES.glob("*.yaml"))]

        async def open_shop(flow_id: str, locale: str) -> GoldenShop:
            workspace_id, key = await new_workspace(stack)
            for source in templates:
                await system.sender.runtime.templates.publish(workspace_id, source)
            shop = GoldenShop(system, workspace_id, key, DOMAIN if locale == "en" else f"{locale}.{DOMAIN}", locale)
            await shop.publish(quick_copy(flow_id, f"{hook_url}/hooks"))
            return shop

        shops = {flow_id: await open_shop(flow_id, "en") for flow_id in SCENARIOS}
        norwegian_shops = {flow_id: await open_shop(flow_id, "nb") for flow_id in NORWEGIAN}
        runs = {flow_id: asyncio.create_task(run(shops[flow_id], hooks)) for flow_id, run in SCENARIOS.items()}
        norwegian = {
            flow_id: asyncio.create_task(SCENARIOS[flow_id](norwegian_shops[flow_id], hooks)) for flow_id in NORWEGIAN
        }
        try:
            yield Golden(system, hooks, shops, runs, norwegian)
        finally:
            tasks = [*runs.values(), *norwegian.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for shop in [*shops.values(), *norwegian_shops.values()]:
                await shop.close()


def test_every_example_flow_has_a_scenario() -> None:
    assert sorted(SCENARIOS) == sorted(path.stem for path in FLOWS.glob("*.yaml"))


@pytest.mark.parametrize(
    ("flow_id", "language"), [*((flow_id, "en") for flow_id in sorted(SCENARIOS)), *((f, "nb") for f in NORWEGIAN)]
)
async def test_the_example_flow_delivers_its_golden_messages(golden: Golden, flow_id: str, language: str) -> None:
    """In English, and for the flows in NORWEGIAN in Norwegian too (`golden/<flow>.nb.txt`): in a second shop
    whose customers' locale is nb, every email is its template's Norwegian variant."""
    outcome = await (golden.runs if language == "en" else golden.norwegian)[flow_id]
    parts = [mail_snapshot(mail) for mail in outcome.mails]
    parts += [sms_snapshot(text) for text in outcome.texts]
    names = {contact_id: name for name, contact_id in outcome.contacts.items()}
    for contact_id in outcome.contacts.values():
        parts += [hook_snapshot(path, body, names) for path, body in golden.hooks.about(contact_id)]
    compare(flow_id if language == "en" else f"{flow_id}.{language}", parts)
    assert [problem for mail in outcome.mails for problem in unrendered(mail)] == []


async def test_cart_emails_list_the_items_and_link_back_to_the_cart(golden: Golden) -> None:
    outcome = await golden.runs["abandoned-cart"]
    help_mail, reminder = _to(outcome.mails, "kari@golden.example")
    for mail in (help_mail, reminder):
        html = mail.part("html") or ""
        assert "Trail shoe Fjellvind" in html and "Wool socks" in html and "2 × 149,00\xa0kr" in html
    destinations = [await golden.shops["abandoned-cart"].follow(url) for url in _tracked(help_mail)]
    assert "https://shop.example/cart/c-2" in destinations
    assert {"https://shop.example/p/shoe-42", "https://shop.example/p/sock-7"} <= set(destinations)


async def test_a_cart_without_its_link_is_skipped_with_the_reason_on_the_flow(golden: Golden) -> None:
    outcome = await golden.runs["abandoned-cart"]
    anna = outcome.contacts["Anna"]
    assert _to(outcome.mails, "anna@golden.example") == []
    skipped = await read_topic(
        golden.system.stack, TRANSITIONS, count=2, where=lambda r: r["contact_id"] == anna and r["kind"] == "skipped"
    )
    assert sorted((r["step_id"], r["reason"]) for r in skipped) == [
        ("can-we-help", "missing data: event.cart_url (template cart-help, html)"),
        ("still-thinking", "missing data: event.cart_url (template cart-reminder, html)"),
    ]


async def test_sales_are_told_the_company_and_the_owner(golden: Golden) -> None:
    outcome = await golden.runs["web-conversion"]
    [(path, call)] = golden.hooks.about(outcome.contacts["Nora"])
    assert path == "/hooks/web-conversion/tell-sales"
    assert call["data"]["payload"] == {
        "owner": "lars@fjordsales.example",
        "text": "Nora at Fjord Analytics AS read the pricing guide two days ago. Time to call.",
        "contact_id": outcome.contacts["Nora"],
        "guide": "https://example.com/files/pricing-guide.pdf",
    }


async def test_a_refused_webhook_fails_visibly_and_takes_the_on_failure_path(golden: Golden) -> None:
    outcome = await golden.runs["web-conversion"]
    eirik = outcome.contacts["Eirik"]
    [failed] = await read_topic(
        golden.system.stack, TRANSITIONS, count=1, where=lambda r: r["contact_id"] == eirik and r["kind"] == "failed"
    )
    assert failed["step_id"] == "tell-sales" and "403" in failed["reason"]
    shop = golden.shops["web-conversion"]
    timeline = await shop.timeline(eirik)
    assert any(e["kind"] == "message" and "failed" in e["detail"] and "403" in e["detail"] for e in timeline)
    assert any(e["kind"] == "event" and e["what"] == "message_failed" for e in timeline)
    profile = (await shop.ingest.get(f"/v1/contacts/{eirik}")).json()["profile"]
    assert "call-by-hand" in profile.get("tags", [])


def _to(mails: list[ReceivedMail], address: str) -> list[ReceivedMail]:
    return [mail for mail in mails if address in mail.rcpt_tos]


def _tracked(mail: ReceivedMail) -> list[str]:
    return [unescape(url) for url in re.findall(r'href="([^"]+/c/[^"]+)"', mail.part("html") or "")]
