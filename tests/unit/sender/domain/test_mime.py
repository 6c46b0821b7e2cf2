"""The final bytes carry every header, both parts, a stable Message-ID and a valid DKIM signature."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

import dkim

from services.sender.domain.mime import DkimKey, build_message, message_id_header
from services.sender.domain.rendering.render import render_message
from tests.unit.sender.conftest import KEYS, SENDER, compiled_from, outgoing
from tests.unit.sender.dkim_test_key import TEST_PRIVATE_KEY, TEST_PUBLIC_KEY_B64

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
BODY = '<html><body><p>Hei {{ contact.first_name }}</p><a href="https://shop.example/">Shop</a></body></html>'


def _bytes(dkim_key: DkimKey | None = None) -> bytes:
    rendered = render_message(compiled_from(BODY), outgoing(), SENDER, KEYS)
    return build_message(
        rendered,
        from_name=SENDER.name,
        from_address=SENDER.address,
        to="reader@example.com",
        message_id="msg-1",
        sending_domain=SENDER.sending_domain,
        now=NOW,
        dkim_key=dkim_key,
    )


def test_message_bytes_contain_unsubscribe_headers_and_both_parts() -> None:
    raw = _bytes()
    assert b"\r\nList-Unsubscribe: <https://t.shop.example/u/" in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    parsed = message_from_bytes(raw, policy=default)
    assert parsed["From"] == "Nordic Shop <hello@shop.example>"
    assert parsed["Subject"] == "Hi Åse"
    assert parsed["Message-ID"] == "<msg-1@shop.example>"
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None and "Hei Åse" in plain.get_content()
    assert html is not None and "Hei Åse" in html.get_content()


def test_message_id_is_stable_and_safe_for_any_id() -> None:
    assert message_id_header("abc-1", "shop.example") == message_id_header("abc-1", "shop.example")
    weird = message_id_header("a b<c>@d", "shop.example")
    assert weird.startswith("<") and weird.endswith("@shop.example>")
    assert " " not in weird and weird.count("@") == 1


def test_dkim_signature_verifies_against_the_published_key() -> None:
    raw = _bytes(DkimKey("shop.example", "s1", TEST_PRIVATE_KEY))
    assert raw.startswith(b"DKIM-Signature:")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"s1._domainkey.shop.example."
        return b"v=DKIM1; k=rsa; p=" + TEST_PUBLIC_KEY_B64.encode()

    assert dkim.verify(raw, dnsfunc=dns)
    signed = raw.split(b"\r\n\r\n", 1)[0].lower()
    assert b"list-unsubscribe" in signed.split(b"b=", 1)[0]


def test_dkim_signature_breaks_when_the_body_is_altered() -> None:
    raw = _bytes(DkimKey("shop.example", "s1", TEST_PRIVATE_KEY)).replace(b"Hei", b"Hey")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return b"v=DKIM1; k=rsa; p=" + TEST_PUBLIC_KEY_B64.encode()

    assert not dkim.verify(raw, dnsfunc=dns)


def test_dkim_signature_over_a_utf8_to_header_verifies() -> None:
    rendered = render_message(compiled_from(BODY), outgoing(), SENDER, KEYS)
    raw = build_message(
        rendered,
        from_name=SENDER.name,
        from_address=SENDER.address,
        to="bjørn@eksempel.no",
        message_id="msg-2",
        sending_domain=SENDER.sending_domain,
        now=NOW,
        dkim_key=DkimKey("shop.example", "s1", TEST_PRIVATE_KEY),
    )

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return b"v=DKIM1; k=rsa; p=" + TEST_PUBLIC_KEY_B64.encode()

    assert "\r\nTo: bjørn@eksempel.no\r\n".encode() in raw
    assert dkim.verify(raw, dnsfunc=dns)
