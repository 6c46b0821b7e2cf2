"""Marketing mail carries unsubscribe headers, a consent footer and tracking; transactional does not."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from html import unescape

import pytest

from services.sender.domain.rendering.compliance import CATEGORY_HEADER, Consent
from services.sender.domain.rendering.links import extract_links
from services.sender.domain.rendering.render import render_message
from services.sender.domain.rendering.tracking import PIXEL_MIN_HTML
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
        assert "You get this because you signed up on January 5, 2024 at checkout." in unescape(part)
        assert "Storgata 1, 0155 Oslo, Norway" in part
    assert ">Unsubscribe</a>" in message.html and ">Manage preferences</a>" in message.html
    assert "Unsubscribe: https://t.shop.example/u/" in message.text


@pytest.mark.parametrize(
    ("locale", "reason"),
    [
        ("nb", "Du får denne e-posten fordi du meldte deg på 5. januar 2024 i kassen."),
        ("sv", "Du får detta för att du registrerade dig den 5 januari 2024 i kassan."),
        ("da", "Du modtager dette, fordi du tilmeldte dig den 5. januar 2024 ved kassen."),
        ("id", "Anda menerima email ini karena Anda mendaftar pada 5 Januari 2024 saat checkout."),
    ],
)
def test_footer_reason_is_localised(locale: str, reason: str, order_html: str) -> None:
    message = render_message(compiled_from(order_html), replace(outgoing(), locale=locale), SENDER, KEYS)
    assert reason in message.text


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("newsletter-form", "via our website's sign-up form"),
        ("form", "via our website's sign-up form"),
        ("api", "via our online shop"),
        ("webinar-form", "when you registered for one of our webinars"),
        ("pricing-guide", "when you asked for one of our guides"),
        ("import", "with us, before we moved our mailing list"),
        ("expo_booth", "via expo booth"),
    ],
)
def test_the_footer_says_how_the_reader_signed_up_in_their_words(source: str, words: str, order_html: str) -> None:
    consent = Consent(date(2024, 1, 5), source)
    message = render_message(compiled_from(order_html), replace(outgoing(), consent=consent), SENDER, KEYS)
    assert f"You get this because you signed up on January 5, 2024 {words}." in message.text
    assert source not in message.text or source == "form"


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


def test_open_pixel_sits_just_before_body_end_of_a_long_message(order_html: str) -> None:
    long_html = order_html.replace("</body>", "<p>" + "All about our new shoes. " * 140 + "</p></body>")
    message = render_message(compiled_from(long_html), outgoing(), SENDER, KEYS)
    pixel = message.html[message.html.index('<img src="https://t.shop.example/o/') :]
    assert pixel.rstrip().endswith('width="1" height="1" alt=""></body></html>')
    token = _token_after(message.html, '<img src="https://t.shop.example/o/')
    assert KEYS.verify(token, TokenKind.OPEN).message_id == "msg-1"
    assert message.opens_tracked


def test_a_short_message_without_pictures_carries_no_pixel_and_its_opens_are_unknown(order_html: str) -> None:
    message = render_message(compiled_from(order_html), outgoing(), SENDER, KEYS)
    assert len(message.html) <= PIXEL_MIN_HTML + 200  # short: one image would make it "image only" to filters
    assert "/o/" not in message.html and "<img" not in message.html
    assert not message.opens_tracked


def test_a_short_message_showing_a_picture_carries_the_pixel_too(order_html: str) -> None:
    pictured = order_html.replace("<p>", '<img src="https://cdn.shop.example/shoe.jpg" alt="Shoe"><p>')
    message = render_message(compiled_from(pictured), outgoing(), SENDER, KEYS)
    assert '<img src="https://t.shop.example/o/' in message.html and message.opens_tracked


def test_tracking_can_be_switched_off_per_template(order_html: str) -> None:
    extra = "tracking: {opens: false, clicks: false}\n"
    message = render_message(compiled_from(order_html, extra=extra), outgoing(), SENDER, KEYS)
    assert "/o/" not in message.html and "/c/" not in message.html and not message.opens_tracked
    assert 'href="https://shop.example/p/1?a=1&amp;b=2"' in message.html


def test_preheader_is_the_first_visible_line_of_both_parts(order_html: str) -> None:
    message = render_message(compiled_from(order_html), outgoing(), SENDER, KEYS)
    assert message.html.startswith('<html><body><p class="dripline-preheader" style="font-size:13px;')
    assert "Order 1001</p>" in message.html[:200]
    assert message.text.startswith("Order 1001\n\nHi ")
    assert "display:none" not in message.html and "font-size:1px" not in message.html  # no invisible text


def test_link_extraction_lists_every_web_link_once(order_html: str) -> None:
    html = order_html + "<img src=\"https://cdn.shop.example/logo.png\"><a href='https://shop.example/p/1?a=1&amp;b=2'>"
    assert extract_links(html) == [
        "https://shop.example/p/1?a=1&b=2",
        "https://shop.example/raw",
        "https://cdn.shop.example/logo.png",
    ]


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("en", "How often: one letter a month."),
        ("nb", "Så ofte: ett brev i måneden."),
        ("da", "Så tit: ett brev i måneden."),
    ],
)
def test_the_marketing_footer_says_how_often_when_the_topic_promises_it(
    locale: str, line: str, order_html: str
) -> None:
    promise = "one letter a month" if locale == "en" else "ett brev i måneden"
    message = render_message(
        compiled_from(order_html),
        replace(outgoing(contact={"first_name": "Åse"}, promise=promise), locale=locale),
        SENDER,
        KEYS,
    )
    assert line in message.text and line in unescape(message.html)


def test_a_transactional_footer_makes_no_promise(order_html: str) -> None:
    message = render_message(
        compiled_from(order_html, category="transactional"),
        outgoing(contact={"first_name": "Åse"}, promise="one a month"),
        SENDER,
        KEYS,
    )
    assert "How often" not in message.text
