"""Identifier hashes are keyed: without DRIPLINE_IDENTIFIER_KEYS a stored hash says nothing, and a key
added later re-keys what is stored by wrapping it, which gives the same hash as hashing afresh."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from shared.errors import ConfigurationError
from shared.identity import bare_hash, identifier_hash, identifier_keys_from_setting, process_keys


def test_a_hash_is_the_bare_hash_wrapped_in_each_key_in_turn() -> None:
    keys = identifier_keys_from_setting("k1:first-secret,k2:second-secret")
    bare = hashlib.sha256(b"w1\x1fphone\x1f+4791234567").digest()
    once = hmac.digest(b"first-secret", bare, "sha256")
    assert keys.hash("w1", "phone", "+4791234567") == hmac.digest(b"second-secret", once, "sha256")
    assert keys.first(1).hash("w1", "phone", "+4791234567") == once
    assert keys.first(0).hash("w1", "phone", "+4791234567") == bare == bare_hash("w1", "phone", "+4791234567")


def test_adding_a_key_re_keys_a_stored_hash_without_the_value() -> None:
    old = identifier_keys_from_setting("k1:first-secret")
    new = identifier_keys_from_setting("k1:first-secret,k2:second-secret")
    stored = old.hash("w1", "email", "kari@example.com")
    assert new.wrap(stored, after=1) == new.hash("w1", "email", "kari@example.com")


def test_the_process_hashes_with_its_keys_and_never_the_bare_hash() -> None:
    made = identifier_hash("w1", "email", " Kari@Example.com")
    assert made == process_keys().hash("w1", "email", "kari@example.com")
    assert made != bare_hash("w1", "email", "kari@example.com")


@pytest.mark.parametrize("spec", ["", "secret-without-id", "k1:", "bad id!:secret", "k1:a,k1:b"])
def test_a_malformed_key_setting_stops_start_up(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="DRIPLINE_IDENTIFIER_KEYS"):
        identifier_keys_from_setting(spec)
