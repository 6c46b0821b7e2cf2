"""Preview and test sends with a sample event: what a flow's trigger would pass renders, items and links too."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.sender.conftest import Sender

pytestmark = pytest.mark.stack

CART: dict[str, Any] = {
    "type": "cart_abandoned",
    "cart_url": "https://shop.example/cart/77",
    "currency": "NOK",
    "items": [
        {"product_id": "shoe-42", "name": "Trail shoe Fjellvind", "quantity": 1, "price": "1299.00",
         "url": "https://shop.example/p/shoe-42"},
        {"product_id": "sock-7", "name": "Wool socks", "quantity": 2, "price": "149.00"},
    ],
}  # fmt: skip


async def test_a_preview_with_a_sample_cart_lists_its_items_and_links_back_to_it(sender: Sender) -> None:
    await sender.publish_example("cart-reminder")
    async with sender.client() as api:
        with_cart = await api.post(
            "/v1/templates/cart-reminder/preview", json={"contact": {"first_name": "Kari"}, "event": CART}
        )
        without = await api.post("/v1/templates/cart-reminder/preview", json={"contact": {"first_name": "Kari"}})
    assert with_cart.status_code == 200, with_cart.text
    text = with_cart.json()["text"]
    assert "Trail shoe Fjellvind" in text and "Wool socks" in text
    assert "View your cart: " in text and "View your cart: \n" not in text  # the link is there, tracked
    assert 'href=""' not in with_cart.json()["html"]
    assert without.status_code == 422  # without the cart there is nothing honest to show, and it says why
    assert without.json()["detail"]["problems"] == ["html: event is missing"]


async def test_a_test_send_with_a_sample_event_delivers_the_cart(sender: Sender) -> None:
    address = f"tester-{uuid.uuid4().hex[:8]}@example.com"
    await sender.publish_example("cart-reminder")
    async with sender.client() as api:
        assert (await api.put("/v1/test-recipients", json={"addresses": [address]})).status_code == 200
        sent = await api.post(
            "/v1/templates/cart-reminder/test-send",
            json={"to": address, "contact": {"first_name": "Kari"}, "event": CART},
        )
    assert sent.status_code == 200, sent.text
    [mail] = sender.mails_to(address)
    assert "Trail shoe Fjellvind" in (mail.part("plain") or "")
    assert "/c/" in (mail.part("html") or "")  # the cart link, tracked like any other


async def test_workspace_name_is_the_workspaces_own_name_in_a_delivered_email_and_a_preview(sender: Sender) -> None:
    """The cart email signs off with `workspace.name`: the shop's name (`Shop one`), not the mail_from name."""
    address = f"kari-{uuid.uuid4().hex[:8]}@example.com"
    await sender.publish_example("cart-reminder")
    contact_id = await sender.contact(email=address, first_name="Kari")
    request = await sender.request(contact_id, "cart-reminder", context={"event": CART})
    await sender.settled(request.event_id, "delivered", "sent", timeout=30)
    [mail] = sender.mails_to(address)
    async with sender.client() as api:
        preview = await api.post("/v1/templates/cart-reminder/preview", json={"event": CART})
    for html in (mail.part("html") or "", preview.json()["html"]):
        assert "<p>Shop one</p>" in html, html
