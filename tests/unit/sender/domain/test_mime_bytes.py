"""Message bytes written by hand must read back exactly as written, in any language."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from services.sender.domain.mime import build_message
from services.sender.domain.rendering.render import RenderedMessage
from services.sender.domain.rendering.template import Category

TEXT = "Hei Åse,\nEn lang linje " + "x" * 200 + "\n.en linje med punktum\nHilsen"
HTML = (
    "<html><body><p>Hei Åse — velkommen!</p>"
    + "<a href='https://example.com/?a=1&b=2'>lenke</a>" * 10
    + "</body></html>"
)


WELCOME = RenderedMessage(
    "welcome",
    Category.MARKETING,
    "Velkommen, Åse! 🎉",
    HTML,
    TEXT,
    {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "List-Id": '"Bøker & Mer" <w.shop.example>'},
)


def _bytes(rendered: RenderedMessage = WELCOME) -> bytes:
    return build_message(
        rendered,
        from_name="Nordisk Bok Ål",
        from_address="hello@shop.example",
        to="reader@example.com",
        message_id="m-1",
        sending_domain="shop.example",
        now=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
    )


def test_non_ascii_subject_sender_and_parts_read_back_unchanged() -> None:
    message = message_from_bytes(_bytes(), policy=policy.default)
    assert message["Subject"] == "Velkommen, Åse! 🎉"
    assert str(message["From"]) == "Nordisk Bok Ål <hello@shop.example>"
    assert message["List-Id"] == '"Bøker & Mer" <w.shop.example>'
    assert message["Message-ID"] == "<m-1@shop.example>"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n").rstrip("\n") == TEXT
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == HTML


def test_every_line_ends_in_crlf_and_stays_short() -> None:
    data = _bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    body = data.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 78  # quoted-printable soft breaks


def test_a_long_non_ascii_subject_is_folded_into_short_encoded_words() -> None:
    subject = "Takk for handelen, Åse! Handlekurven din med tre bøker fra Bjørns favorittbutikk venter 🎉"
    data = _bytes(RenderedMessage("welcome", Category.MARKETING, subject, HTML, TEXT, {}))
    head = data.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n") if not line.startswith(b"List-")) <= 78
    assert message_from_bytes(data, policy=policy.default)["Subject"] == subject


def _to(to: str) -> bytes:
    return build_message(
        WELCOME,
        from_name="Nordisk Bok",
        from_address="hello@shop.example",
        to=to,
        message_id="m-2",
        sending_domain="shop.example",
        now=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
    )


def test_a_unicode_domain_is_written_as_punycode_and_the_head_stays_ascii() -> None:
    data = _to("kari@blåbær.no")
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nTo: kari@xn--blbr-roah.no\r\n" in head
    assert head.isascii()


def test_a_unicode_local_part_is_written_as_utf8_and_reads_back() -> None:
    data = _to("bjørn@blåbær.no")
    assert "\r\nTo: bjørn@xn--blbr-roah.no\r\n".encode() in data
    message = message_from_bytes(data, policy=policy.default)
    assert message["To"] == "bjørn@xn--blbr-roah.no"
    assert message["Subject"] == "Velkommen, Åse! 🎉"  # other headers keep their encoded words
