"""The token format is a contract with links already in inboxes: it must never drift.

The tokens below were signed before signing was made faster; the code of today must
sign exactly these bytes and verify them, so links sent then keep working and links
sent now verify on a tracker that still runs the older code.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from shared.tokens import KeyRing, TokenClaims, TokenError, TokenExpired, TokenKind, _Hmac

NEW = ("k2", b"new-secret-0123456789abcdef")
OLD = ("k1", b"old-secret-0123456789abcdef")
RING = KeyRing([NEW, OLD])

PINNED = [
    (
        KeyRing([NEW]),
        TokenClaims(
            TokenKind.CLICK, "m-1", "w-1", "c-1", 1_700_000_000, "f-1", "s-1", "https://shop.example/p/42?utm=x"
        ),
        "k2.YwptLTEKdy0xCmMtMQpmLTEKcy0xCjE3MDAwMDAwMDAKaHR0cHM6Ly9zaG9wLmV4YW1wbGUvcC80Mj91dG09eA"
        ".PcJuA_f_31pegg6dPESN6A",
    ),
    (
        KeyRing([NEW]),
        TokenClaims(
            TokenKind.CLICK, "m-2", "w-1", "c-2", 1_700_000_001, None, None, "http://Shop.Example:8080/ä/b?q=1#frag"
        ),
        "k2.YwptLTIKdy0xCmMtMgoKCjE3MDAwMDAwMDEKaHR0cDovL1Nob3AuRXhhbXBsZTo4MDgwL8OkL2I_cT0xI2ZyYWc"
        ".q-v0sZIEFsFOuOExFN42Xw",
    ),
    (
        KeyRing([NEW]),
        TokenClaims(TokenKind.OPEN, "m-3", "w-1", "c-3", 1_700_000_002, "f-1", "s-2"),
        "k2.bwptLTMKdy0xCmMtMwpmLTEKcy0yCjE3MDAwMDAwMDIK.c9z352UUyA8tYZLNTul10g",
    ),
    (
        KeyRing([NEW]),
        TokenClaims(TokenKind.UNSUB, "m-4", "w-2", "c-4", 0),
        "k2.dQptLTQKdy0yCmMtNAoKCjAK.rop9QMfJlG3ErHzz_9UXlw",
    ),
    (
        KeyRing([NEW]),
        TokenClaims(TokenKind.PREFS, "mé-5", "wö", "c\u2603", 1_234_567_890, "f", None),
        "k2.cAptw6ktNQp3w7YKY-KYgwpmCgoxMjM0NTY3ODkwCg.Boz4Po8WAqk_MNW8H-9ixg",
    ),
    (
        KeyRing([NEW]),
        TokenClaims(TokenKind.CONFIRM, "", "w-3", "c-6", 42),
        "k2.ZgoKdy0zCmMtNgoKCjQyCg.gOmkLRB-3TjxETVRwnrouA",
    ),
    (
        KeyRing([OLD]),
        TokenClaims(TokenKind.CLICK, "m-7", "w-1", "c-7", 1_600_000_000, "f-2", "s-3", "https://a.example"),
        "k1.YwptLTcKdy0xCmMtNwpmLTIKcy0zCjE2MDAwMDAwMDAKaHR0cHM6Ly9hLmV4YW1wbGU.RSjfB8gOeqyug_y2cFJb2A",
    ),
]


@pytest.mark.parametrize(("signer", "claims", "token"), PINNED)
def test_signing_yields_the_pinned_token(signer: KeyRing, claims: TokenClaims, token: str) -> None:
    assert signer.sign(claims) == token


@pytest.mark.parametrize(("signer", "claims", "token"), PINNED)
def test_pinned_token_verifies_to_its_claims(signer: KeyRing, claims: TokenClaims, token: str) -> None:
    assert RING.verify(token, claims.kind) == claims


@pytest.mark.parametrize("secret", [b"s" * 16, b"block-sized-key!" * 4, b"longer-than-a-block" * 9])
def test_hmac_matches_the_standard_library(secret: bytes) -> None:
    for message in (b"", b"k1.abc", bytes(range(256)) * 3):
        assert _Hmac(secret).digest(message) == hmac.digest(secret, message, hashlib.sha256)


def test_mac_text_that_is_not_ascii_is_refused() -> None:
    token = PINNED[3][2]
    with pytest.raises(TokenError):
        RING.verify(token[:-1] + "é")


def test_cached_url_check_still_refuses_an_unsafe_click_after_a_safe_one() -> None:
    claims = PINNED[0][1]
    RING.verify(PINNED[0][2])
    unsafe = TokenClaims(TokenKind.CLICK, "m", "w", "c", 1, url="javascript://shop.example/%0aalert(1)")
    with pytest.raises(TokenError, match="http"):
        RING.sign(unsafe)
    assert RING.verify(RING.sign(claims)) == claims


@pytest.mark.parametrize(("signer", "claims", "token"), PINNED)
def test_message_tokens_sign_the_pinned_token_too(signer: KeyRing, claims: TokenClaims, token: str) -> None:
    tokens = signer.for_message(
        claims.message_id, claims.workspace_id, claims.contact_id, claims.issued_at, claims.flow_id, claims.step_id
    )
    assert tokens.sign(claims.kind, claims.url) == token


@pytest.mark.parametrize(
    ("ids", "kind", "url"),
    [
        (("m", "w", "c"), TokenKind.CLICK, None),
        (("m", "w", "c"), TokenKind.CLICK, "javascript:alert(1)"),
        (("m", "w", "c"), TokenKind.OPEN, "https://a.example/"),
        (("m", "w", "c"), TokenKind.CLICK, "https://a.example/\ud800"),
        (("m\n", "w", "c"), TokenKind.UNSUB, None),
        (("m", "w\ud800", "c"), TokenKind.PREFS, None),
    ],
)
def test_message_tokens_refuse_what_sign_refuses(ids: tuple[str, str, str], kind: TokenKind, url: str | None) -> None:
    with pytest.raises(TokenError):
        RING.sign(TokenClaims(kind, *ids, issued_at=1, url=url))
    with pytest.raises(TokenError):
        RING.for_message(*ids, issued_at=1).sign(kind, url)


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize(("signer", "claims", "token"), PINNED)
def test_every_other_last_character_of_the_mac_is_refused(signer: KeyRing, claims: TokenClaims, token: str) -> None:
    # The MAC's last base64 character carries 2 bits: 15 of the 63 others used to decode to the same bytes.
    others = [char for char in BASE64URL if char != token[-1]]
    assert len(others) == 63
    for char in others:
        with pytest.raises(TokenError, match="signature"):
            RING.verify(token[:-1] + char)


@pytest.mark.parametrize("spelling", ["{}=", "{}==", "{}\n", " {}", "{}.", "{}"])
def test_other_spellings_of_a_genuine_mac_are_refused(spelling: str) -> None:
    kid, payload, mac = PINNED[0][2].split(".")
    assert "_" in mac  # the standard alphabet's "/" decodes to the same bytes
    with pytest.raises(TokenError):
        RING.verify(f"{kid}.{payload}.{spelling.format(mac.replace('_', '/'))}")
    if spelling != "{}":
        with pytest.raises(TokenError):
            RING.verify(f"{kid}.{payload}.{spelling.format(mac)}")


def test_a_token_past_its_age_is_refused_as_expired() -> None:
    signer, claims, token = PINNED[5]
    issued = claims.issued_at
    assert RING.verify(token, TokenKind.CONFIRM, now=issued + 3600, max_age_s=3600) == claims
    with pytest.raises(TokenExpired):
        RING.verify(token, TokenKind.CONFIRM, now=issued + 3601, max_age_s=3600)
    # Without an age the same token verifies: unsubscribe links are checked that way.
    assert RING.verify(token, TokenKind.CONFIRM) == claims
