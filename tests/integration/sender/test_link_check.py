"""`dripline templates check-links`: broken links are reported, good ones pass, tracked links are resolved."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI, Response
from typer.testing import CliRunner

from dripline.cli import app as cli
from dripline.devstack.broker import free_port
from services.scheduler.adapters.flows import FlowCatalog
from services.sender.usecases.link_check import check_links
from tests.integration.sender.conftest import Sender
from tests.support.servers import serving
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack

TEMPLATE = """id: links
category: marketing
subject: Links
preheader: Links
html: |
  <html><body>
  <a href="{site}/good">good</a> <a href="{site}/gone">gone</a> <a href="http://127.0.0.1:{closed}/">closed</a>
  </body></html>
"""


@pytest.fixture
async def site() -> AsyncIterator[str]:
    app = FastAPI()

    @app.api_route("/good", methods=["GET", "HEAD"])
    async def good() -> Response:
        return Response("fine")

    async with serving(app) as url:
        yield url


async def publish(sender: Sender, site: str) -> tuple[str, int]:
    workspace = f"links-{uuid.uuid4().hex[:6]}"
    closed = free_port()
    await sender.runtime.templates.publish(workspace, TEMPLATE.format(site=site, closed=closed))
    return workspace, closed


async def test_the_link_check_reports_a_404_and_passes_a_good_link(sender: Sender, site: str) -> None:
    workspace, closed = await publish(sender, site)

    results = await check_links(
        sender.runtime.templates, sender.runtime.composer, workspace_id=workspace, timeout=2, allow_private=True
    )

    by_url = {result.url: result for result in results}
    assert set(by_url) == {f"{site}/good", f"{site}/gone", f"http://127.0.0.1:{closed}/"}  # tracked links resolved
    assert not by_url[f"{site}/good"].broken and by_url[f"{site}/good"].status == 200
    assert by_url[f"{site}/gone"].problem == "HTTP 404"
    assert "ConnectError" in (by_url[f"http://127.0.0.1:{closed}/"].problem or "")


async def test_the_link_check_refuses_private_addresses_unless_allowed(sender: Sender, site: str) -> None:
    workspace, _ = await publish(sender, site)
    results = await check_links(sender.runtime.templates, sender.runtime.composer, workspace_id=workspace, timeout=2)
    assert all("private address" in (result.problem or "") for result in results)


async def test_the_cli_prints_broken_links_and_fails(
    sender: Sender, site: str, stack: RealStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace, _ = await publish(sender, site)
    settings = sender.runtime.settings
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    monkeypatch.setenv("DRIPLINE_ALLOW_PRIVATE_WEBHOOKS", "true")
    monkeypatch.setenv("DRIPLINE_TRACKER_PUBLIC_URL", settings.tracker_public_url)
    monkeypatch.setenv("DRIPLINE_LINK_SIGNING_KEYS", settings.link_signing_keys.get_secret_value())

    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["templates", "check-links", "--workspace", workspace, "--timeout", "2"]
    )

    assert result.exit_code == 1, result.output
    assert "2 broken of 3 links" in result.output
    assert "HTTP 404" in result.output


async def test_the_daily_check_publishes_each_broken_link_as_an_event(
    sender: Sender, site: str, stack: RealStack
) -> None:
    from services.sender.workers.link_watch import check_and_report
    from shared.contract.topics import LINK_CHECKS
    from tests.support.topics import read_topic

    workspace, closed = await publish(sender, site)
    broken = await check_and_report(
        sender.runtime.templates, sender.runtime.composer, sender.producer, sender.runtime.settings
    )
    assert {result.url for result in broken if result.workspace_id == workspace} == {
        f"{site}/gone",
        f"http://127.0.0.1:{closed}/",
    }
    events = await read_topic(stack, LINK_CHECKS, count=2, where=lambda r: r["workspace_id"] == workspace)
    assert {(event["url"], event["status"]) for event in events} == {
        (f"{site}/gone", 404),
        (f"http://127.0.0.1:{closed}/", None),
    }
    assert all(event["__key__"] == "links" and event["problem"] for event in events)


CART_FLOW = """
id: cart-links
name: Cart links
triggers: [{type: event, event: cart_abandoned}]
steps:
  - {id: remind, type: send, template: cart-links}
"""
CART_TEMPLATE = """id: cart-links
category: marketing
subject: Your cart
preheader: Still there
html: |
  <html><body>
  <a href="{{ event.cart_url }}">cart</a> <a href="{{ event.coupon_url | default: '' }}">coupon</a>
  {% for item in event.items %}<img src="{{ item.image_url }}" alt="">{% endfor %}
  <a href="{site}/good">good</a>
  </body></html>
"""


async def test_links_built_from_event_data_are_rendered_with_a_sample_event_of_the_flow(
    sender: Sender, site: str
) -> None:
    workspace = f"links-{uuid.uuid4().hex[:6]}"
    await sender.runtime.templates.publish(workspace, CART_TEMPLATE.replace("{site}", site))
    async with sender.db.acquire() as connection:
        published = await FlowCatalog().publish(connection, workspace, CART_FLOW, "cart-links.yaml")
    assert published.flow is not None, published.problems

    results = await check_links(
        sender.runtime.templates, sender.runtime.composer, workspace_id=workspace, timeout=2, allow_private=True
    )

    assert sorted((r.url, r.problem) for r in results) == [
        ("", "a link (href of <a>) renders empty for flow cart-links"),
        (f"{site}/good", None),
        ("https://sample-event.dripline.invalid/event.cart_url", None),  # built from the event: not fetched
        ("https://sample-event.dripline.invalid/event.items.0.image_url", None),
        ("https://sample-event.dripline.invalid/event.items.1.image_url", None),
    ]
