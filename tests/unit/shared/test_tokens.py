"""Tokens are signed by the sender and verified by the tracker."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.tokens import KeyRing, TokenClaims, TokenError, TokenKind, safe_click_url

OLD = ("k1", b"old-secret-0123456789abcdef")
NEW = ("k2", b"new-secret-0123456789abcdef")


def click(url: str = "https://shop.example/p/42?utm=x") -> TokenClaims:
    return TokenClaims(
        kind=TokenKind.CLICK,
        message_id="m-1",
        workspace_id="w-1",
        contact_id="c-1",
        issued_at=1_700_000_000,
        flow_id="f-1",
        step_id="s-1",
        url=url,
    )


def test_signed_token_verifies_to_the_same_claims() -> None:
    ring = KeyRing([NEW])
    token = ring.sign(click())
    assert ring.verify(token, TokenKind.CLICK) == click()


def test_a_broadcasts_token_names_its_broadcast_and_a_flows_token_keeps_its_eight_fields() -> None:
    ring = KeyRing([NEW])
    broadcast = replace(click(), flow_id=None, step_id=None, broadcast_id="spring-sale")
    signed = ring.for_message("m-1", "w-1", "c-1", 1_700_000_000, broadcast_id="spring-sale")

    assert ring.verify(ring.sign(broadcast), TokenKind.CLICK) == broadcast
    assert ring.verify(signed.sign(TokenKind.CLICK, broadcast.url), TokenKind.CLICK) == broadcast
    assert ring.verify(ring.sign(click()), TokenKind.CLICK).broadcast_id is None
    assert len(ring.sign(click()).split(".")[1]) < len(ring.sign(replace(click(), broadcast_id="b")).split(".")[1])


def test_token_is_url_safe() -> None:
    token = KeyRing([NEW]).sign(click("https://shop.example/ä?q=a b&x=/+"[:30].replace(" ", "")))
    assert all(ch.isalnum() or ch in "-_." for ch in token)


def test_tampered_payload_raises() -> None:
    ring = KeyRing([NEW])
    kid, payload, mac = ring.sign(click()).split(".")
    forged = (
        base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==").replace(b"shop.example", b"evil.example"))
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(TokenError, match="signature"):
        ring.verify(f"{kid}.{forged}.{mac}")


def test_tampered_signature_raises() -> None:
    ring = KeyRing([NEW])
    token = ring.sign(click())
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(TokenError):
        ring.verify(flipped)


def test_old_key_still_verifies_after_rotation() -> None:
    before = KeyRing([OLD]).sign(click())
    rotated = KeyRing([NEW, OLD])
    assert rotated.verify(before).url == click().url
    assert rotated.sign(click()).startswith("k2.")


def test_retired_key_is_refused() -> None:
    before = KeyRing([OLD]).sign(click())
    with pytest.raises(TokenError, match="unknown key"):
        KeyRing([NEW]).verify(before)


def test_same_key_id_with_another_secret_is_refused() -> None:
    token = KeyRing([("k1", b"x" * 32)]).sign(click())
    with pytest.raises(TokenError, match="signature"):
        KeyRing([("k1", b"y" * 32)]).verify(token)


def test_open_token_cannot_be_replayed_as_unsubscribe() -> None:
    ring = KeyRing([NEW])
    token = ring.sign(TokenClaims(TokenKind.OPEN, "m", "w", "c", issued_at=1))
    with pytest.raises(TokenError, match="expected a unsub"):
        ring.verify(token, TokenKind.UNSUB)


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "//evil.example/", "ftp://x.example/", "https:///nohost", "data:text/html,x"],
)
def test_click_token_refuses_non_http_urls(url: str) -> None:
    with pytest.raises(TokenError):
        KeyRing([NEW]).sign(click(url))


def test_only_click_tokens_carry_a_url() -> None:
    claims = TokenClaims(TokenKind.OPEN, "m", "w", "c", issued_at=1, url="https://x.example/")
    with pytest.raises(TokenError):
        KeyRing([NEW]).sign(claims)


@pytest.mark.parametrize("junk", ["", "a.b", "k2..", "k2.!!!.???", "k2.a.b.c", "ké.a.b"])
def test_malformed_tokens_raise_token_error(junk: str) -> None:
    with pytest.raises(TokenError):
        KeyRing([NEW]).verify(junk)


def test_expired_token_is_refused_when_max_age_given() -> None:
    ring = KeyRing([NEW])
    token = ring.sign(click())
    assert ring.verify(token, now=1_700_000_100, max_age_s=200).kind is TokenKind.CLICK
    with pytest.raises(TokenError, match="expired"):
        ring.verify(token, now=1_700_000_300, max_age_s=200)


def test_key_ring_rejects_weak_or_duplicate_keys() -> None:
    with pytest.raises(ValueError):
        KeyRing([("k1", b"short")])
    with pytest.raises(ValueError):
        KeyRing([NEW, NEW])
    with pytest.raises(ValueError):
        KeyRing([])


def test_safe_click_url_accepts_only_http_and_https() -> None:
    assert safe_click_url("https://a.example/x")
    assert safe_click_url("http://a.example")
    assert not safe_click_url("mailto:a@b.example")
    assert not safe_click_url("https://a.example/\r\nSet-Cookie: x")


@given(
    ids=st.lists(
        st.text(alphabet=st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=40),
        min_size=3,
        max_size=3,
    )
)
def test_any_ids_round_trip(ids: list[str]) -> None:
    ring = KeyRing([NEW])
    claims = TokenClaims(TokenKind.UNSUB, ids[0], ids[1], ids[2], issued_at=5)
    assert ring.verify(ring.sign(claims)) == claims
