"""Publishing a flow refuses what its messages would print blank: a template or payload variable the flow
cannot provide is a 422 naming the file, the line and the variable."""

from __future__ import annotations

import textwrap
import uuid

import asyncpg
import pytest

from services.sender.adapters.templates import TemplateStore
from tests.integration.scheduler.conftest import Shop
from tests.support.cart_flow import CART_FLOW, cart_template

pytestmark = pytest.mark.stack


async def test_a_flow_whose_template_and_payload_use_what_it_cannot_provide_is_refused(
    shop: Shop, pool: asyncpg.Pool
) -> None:
    tag = uuid.uuid4().hex[:6]
    await TemplateStore(pool).publish(shop.workspace_id, cart_template(tag, link="event.cart_link"))
    async with shop.scheduler() as scheduler:
        response = await scheduler.post(
            "/v1/flows",
            content=textwrap.dedent(CART_FLOW.format(tag=tag)),
            headers={"Content-Type": "application/yaml", "X-Flow-File": "cart.yaml"},
        )
    assert response.status_code == 422, response.text
    problems = [(p["file"], p["line"], p["reason"].split(";")[0]) for p in response.json()["problems"]]
    assert problems == [
        (f"cart-reminder-{tag}.yaml", 12, "html: event.cart_link is not a field of cart_abandoned events "
         "(at, cart_id, cart_url, currency, id, items, type, value)"),
        (f"cart-reminder-{tag}.yaml", 22, "text: event.cart_link is not a field of cart_abandoned events "
         "(at, cart_id, cart_url, currency, id, items, type, value)"),
        ("cart.yaml", 12, "notify step 'tell', payload.owner: contact.sales_owner is not a profile field"),
    ]  # fmt: skip
