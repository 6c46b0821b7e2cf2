"""What a message sees (contact, event, workspace) and the filters shops build carts and orders with."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.sender.domain.rendering.errors import MissingData
from services.sender.domain.rendering.render import render_message
from services.sender.domain.rendering.scope import message_scope
from tests.unit.sender.conftest import KEYS, SENDER, compiled_from, outgoing

CART = {
    "type": "cart_abandoned",
    "currency": "NOK",
    "value": "1398.00",
    "cart_url": "https://shop.example/cart/77",
    "items": [
        {"product_id": "shoe-42", "name": "Trail shoe", "quantity": 1, "price": "1299.00",
         "url": "https://shop.example/p/shoe-42", "image_url": "http://cdn.shop.example/shoe.jpg"},
        {"product_id": "sock", "name": "Wool socks", "quantity": 2, "price": "49.50", "url": "https://shop.example/p/sock"},
    ],
}  # fmt: skip
PROFILE = {"email": "kari@example.com", "first_name": "Kari", "last_name": None, "attributes": {"company": "Fjord AS"}}


def _scope() -> dict[str, object]:
    return message_scope(
        contact_id="c-1", profile=PROFILE, workspace_id="ws-1", sender=SENDER,
        context={"event": CART, "flow": {"id": "cart"}, "step": {"id": "help"}, "other": 1}, variables={"variant": "a"},
    )  # fmt: skip


def test_a_message_sees_the_contact_the_flow_context_and_the_workspace() -> None:
    scope = _scope()
    assert scope["contact"] == {
        "email": "kari@example.com", "first_name": "Kari", "attributes": {"company": "Fjord AS"}, "id": "c-1"
    }  # fmt: skip
    assert scope["event"] == CART and scope["step"] == {"id": "help"} and "other" not in scope
    assert scope["workspace"] == {
        "id": "ws-1", "name": "Nordic Shop", "postal_address": "Storgata 1, 0155 Oslo, Norway",
        "sender": {"name": "Nordic Shop", "email": "hello@shop.example"},
    }  # fmt: skip
    assert scope["variant"] == "a"


def test_a_cart_email_lists_the_items_with_a_tracked_link_back_to_the_cart() -> None:
    compiled = compiled_from(
        "<p>Hi {{ contact.first_name }} at {{ contact.attributes.company }}</p>{{ event.items | product_grid }}"
        '<p>Total {{ event.value | money }}</p><a href="{{ event.cart_url }}">Back to your cart</a>'
    )
    message = render_message(compiled, replace(outgoing(**_scope()), locale="nb"), SENDER, KEYS)
    assert "Hi Kari at Fjord AS" in message.text
    assert "Trail shoe" in message.html and "Wool socks" in message.html
    assert "2 × 49,50\xa0kr" in message.html and "Total 1\xa0398,00\xa0kr" in message.text
    assert 'src="https://cdn.shop.example/shoe.jpg?width=240"' in message.html
    assert 'href=""' not in message.html and "https://shop.example/cart/77" not in message.html  # tracked
    assert message.html.count("https://t.shop.example/c/") == 4  # a picture, two names, the cart


def test_text_parts_list_the_items_with_prices_and_links() -> None:
    compiled = compiled_from("<p>x</p>", extra="text: |\n  {{ event.items | product_lines }}\n")
    message = render_message(compiled, replace(outgoing(**_scope()), locale="en"), SENDER, KEYS)
    assert message.text.startswith(
        "Order new\n\n"  # the preheader
        "- Trail shoe, NOK1,299.00: https://shop.example/p/shoe-42\n"
        "- Wool socks, 2 × NOK49.50: https://shop.example/p/sock\n"
    )


def test_a_cart_without_its_url_is_skipped_naming_the_value() -> None:
    compiled = compiled_from('<a href="{{ event.cart_url }}">Back</a>')
    without_url = {**_scope(), "event": {k: v for k, v in CART.items() if k != "cart_url"}}
    with pytest.raises(MissingData, match=r"event\.cart_url is missing"):
        render_message(compiled, outgoing(**without_url), SENDER, KEYS)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ event.items[0] | image_url }}", "https://cdn.shop.example/shoe.jpg"),
        ("{{ event.items[0].image_url | image_url: 300 }}", "https://cdn.shop.example/shoe.jpg?width=300"),
        ("[{{ event.items[1] | image_url }}]", "[]"),
        ("{{ event.at | local_date: 'long' }}", "2. mars 2024"),
    ],
)
def test_image_urls_and_local_dates(source: str, expected: str) -> None:
    compiled = compiled_from("<p>x</p>", extra=f'text: "{source}"\n')
    scope = {**_scope(), "event": {**CART, "at": "2024-03-01T23:30:00Z"}}
    message = render_message(compiled, replace(outgoing(**scope), locale="nb", time_zone="Europe/Oslo"), SENDER, KEYS)
    assert message.text.startswith(f"Order new\n\n{expected}\n")  # after the preheader


def test_a_link_data_made_unfollowable_is_left_untracked_instead_of_failing_the_message() -> None:
    compiled = compiled_from('<a href="https://shop.example/orders/{{ event.cart_id }}">order</a>')
    scope = {**_scope(), "event": {**CART, "cart_id": "A 10042"}}
    message = render_message(compiled, outgoing(**scope), SENDER, KEYS)
    assert 'href="https://shop.example/orders/A 10042"' in message.html
