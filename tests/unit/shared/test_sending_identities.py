"""DKIM keys are stored encrypted; only the same DRIPLINE_IDENTITY_ENCRYPTION_KEY opens them."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.sending_identities import KeyBox, UnreadableKey


def test_a_sealed_key_opens_with_the_same_secret_only() -> None:
    pem = b"-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n"
    sealed = KeyBox(SecretStr("a" * 32)).seal(pem)

    assert pem not in sealed and b"PRIVATE KEY" not in sealed
    assert KeyBox(SecretStr("a" * 32)).open(sealed) == pem
    with pytest.raises(UnreadableKey, match="DRIPLINE_IDENTITY_ENCRYPTION_KEY"):
        KeyBox(SecretStr("b" * 32)).open(sealed)
