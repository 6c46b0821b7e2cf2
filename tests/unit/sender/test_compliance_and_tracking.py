"""Marketing mail carries unsubscribe headers, a consent footer and tracking; transactional does not."""

from __future__ import annotations

from dataclasses import replace
from html import unescape

import pytest

from services.sender.domain.compliance import CATEGORY_HEADER
from services.sender.domain.links import extract_links
from services.sender.domain.render import render_message
from shared.tokens import TokenKind
from tests.unit.sender.conftest import KEYS, SENDER, compiled_from, outgoing


def _token_after(html: str, prefix: str) -> str:
    start = html.index(prefix) + len(prefix)
    return html[start : html.index('"', start)]


def test_marketing_message_gets_one_click_unsubscribe_headers(order_html: str) -> None:
    message = render_message(compiled_from(order_html), outgoing(), SENDER, KEYS)
    unsub = message.headers["List-Unsubscribe"]
    assert unsub.startswith("<https://t.shop.example/u/")
    assert "<mailto:unsubscribe@shop.example?subject=unsubscribe-k1." in unsub
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.headers["List-Id"] == '"Nordic Shop news" <news.shop.example>'
    assert message.headers[CATEGORY_HEADER] == "marketing"
    token = unsub[len("<https://t.shop.example/u/") : unsub.index(">")]
    assert KEYS.verify(token, TokenKind.UNSUB).contact_id == "contact-1"


def test_marketing_footer_shows_links_reason_and_postal_address(order_html: str) -> None:
    message = render_message(compiled_from(order_html), outgoing(), SENDER, KEYS)
    for part in (message.html, message.text):
        assert "You get this because you signed up on January 5, 2024 via the checkout." in unescape(part)
        assert "Storgata 1, 0155 Oslo, Norway" in part
    assert ">Unsubscribe</a>" in message.html and ">Manage preferences</a>" in message.html
    assert "Unsubscribe: https://t.shop.example/u/" in message.text


@pytest.mark.parametrize(
    ("locale", "reason"),
    [
        ("nb", "Du får denne e-posten fordi du meldte deg på 5. januar 2024 via the checkout."),
        ("sv", "Du får detta för att du registrerade dig den 5 januari 2024 via the checkout."),
        ("da", "Du modtager dette, fordi du tilmeldte dig den 5. januar 2024 via the checkout."),
        ("id", "Anda menerima email ini karena Anda mendaftar pada 5 Januari 2024 melalui the checkout."),
    ],
)
def test_footer_reason_is_localised(locale: str, reason: str, order_html: str) -> None:
    message = render_message(compiled_from(order_html), replace(outgoing(), locale=locale), SENDER, KEYS)
    assert reason in message.text


def test_transactional_message_is_marked_and_has_no_unsubscribe(order_html: str) -> None:
    compiled = compiled_from(order_html, category="transactional")
    message = render_message(compiled, outgoing(), SENDER, KEYS)
    assert message.headers == {CATEGORY_HEADER: "transactional"}
    assert "/u/" not in message.html and "Unsubscribe" not in message.html
    assert "service message" in message.text
    assert "Storgata 1" in message.text


def test_web_links_are_rewritten_to_signed_click_urls(order_html: str) -> None:
    message = render_message(compiled_from(order_html), outgoing(), SENDER, KEYS)
    token = _token_after(message.html, 'href="https://t.shop.example/c/')
    claims = KEYS.verify(token, TokenKind.CLICK)
    assert claims.url == "https://shop.example/p/1?a=1&b=2"
    assert (claims.message_id, claims.flow_id, claims.step_id) == ("msg-1", "flow-1", "step-1")
    assert 'href="https://shop.example/p/1' not in message.html


def test_mailto_notrack_and_unsubscribe_links_are_left_alone(order_html: str) -> None:
    message = render_message(compiled_from(order_html), outgoing(), SENDER, KEYS)
    assert 'href="mailto:help@shop.example"' in message.html
    assert 'href="https://shop.example/raw" data-notrack' in message.html
    assert message.html.count("https://t.shop.example/c/") == 1


def test_unsubscribe_link_written_in_the_body_is_not_click_tracked() -> None:
    compiled = compiled_from('<p><a href="{{ dripline.unsubscribe_url }}">Stop</a></p>')
    message = render_message(compiled, outgoing(), SENDER, KEYS)
    assert 'href="https://t.shop.example/u/' in message.html
    assert "/c/" not in message.html


def test_open_pixel_sits_just_before_body_end(order_html: str) -> None:
    message = render_message(compiled_from(order_html), outgoing(), SENDER, KEYS)
    pixel = message.html[message.html.index('<img src="https://t.shop.example/o/') :]
    assert pixel.rstrip().endswith('width="1" height="1" alt=""></body></html>')
    token = _token_after(message.html, '<img src="https://t.shop.example/o/')
    assert KEYS.verify(token, TokenKind.OPEN).message_id == "msg-1"


def test_tracking_can_be_switched_off_per_template(order_html: str) -> None:
    extra = "tracking: {opens: false, clicks: false}\n"
    message = render_message(compiled_from(order_html, extra=extra), outgoing(), SENDER, KEYS)
    assert "/o/" not in message.html and "/c/" not in message.html
    assert 'href="https://shop.example/p/1?a=1&amp;b=2"' in message.html


def test_preheader_is_hidden_right_after_body_start(order_html: str) -> None:
    message = render_message(compiled_from(order_html), outgoing(), SENDER, KEYS)
    assert message.html.startswith('<html><body><span style="display:none;')
    assert "Order 1001" in message.html[:200]


def test_link_extraction_lists_every_web_link_once(order_html: str) -> None:
    html = order_html + "<img src=\"https://cdn.shop.example/logo.png\"><a href='https://shop.example/p/1?a=1&amp;b=2'>"
    assert extract_links(html) == [
        "https://shop.example/p/1?a=1&b=2",
        "https://shop.example/raw",
        "https://cdn.shop.example/logo.png",
    ]
