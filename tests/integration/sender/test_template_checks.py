"""Publishing a template refuses what a flow sending it cannot provide, and a contact field misspelt
whatever the flow: a 422 naming the file, the line and the variable."""

from __future__ import annotations

import textwrap
import uuid

import pytest

from services.scheduler.adapters.flows import FlowCatalog
from tests.integration.sender.conftest import WORKSPACE, Sender
from tests.support.cart_flow import CART_FLOW, cart_template

pytestmark = pytest.mark.stack


async def test_a_template_a_published_flow_sends_must_fit_that_flow(sender: Sender) -> None:
    tag = uuid.uuid4().hex[:6]
    await sender.runtime.templates.publish(WORKSPACE, cart_template(tag))
    flow = CART_FLOW.format(tag=tag).replace("contact.sales_owner", "contact.attributes.sales_owner | default: ''")
    async with sender.db.acquire() as connection:
        published = await FlowCatalog().publish(connection, WORKSPACE, textwrap.dedent(flow), "cart.yaml")
    assert published.flow is not None, published.problems

    async with sender.client() as api:
        fitting = await api.post("/v1/templates", json={"source": cart_template(tag).replace("saved", "kept")})
        unfit = await api.post("/v1/templates", json={"source": cart_template(tag, link="event.join_url")})
        misspelt = await api.post(
            "/v1/templates",
            json={
                "source": cart_template(f"{tag}x").replace(
                    'contact.first_name | default: "there"', "contact.company", 1
                )
            },
        )
    assert fitting.status_code == 201, fitting.text
    assert unfit.status_code == 422
    assert unfit.json()["detail"]["problems"][0].startswith(
        f"cart-reminder-{tag}.yaml:12: html: event.join_url is not a field of cart_abandoned events"
    )
    assert unfit.json()["detail"]["problems"][0].endswith(f"(sent by flow cart-{tag})")
    assert misspelt.status_code == 422
    assert misspelt.json()["detail"]["problems"] == [
        f"cart-reminder-{tag}x.yaml:9: html: contact.company is not a profile field; "
        "custom attributes are contact.attributes.company"
    ]
