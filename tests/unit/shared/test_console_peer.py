"""The console's signed assertion to the sender: it says who asks for which workspace, and nothing else passes."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.console_peer import LIFETIME_SECONDS, AssertionRefused, sign, verify

KEYS = SecretStr("new:a-new-secret-of-enough-bytes,old:an-old-secret-of-enough-bytes")


def test_an_assertion_names_the_workspace_user_and_role_and_lasts_a_minute() -> None:
    token = sign(KEYS, "shop-a", "user:u1", "editor", now=1_000)
    found = verify(KEYS, token, now=1_000 + LIFETIME_SECONDS)
    assert (found.workspace_id, found.actor, found.role, found.issued_at) == ("shop-a", "user:u1", "editor", 1_000)
    with pytest.raises(AssertionRefused, match="expired"):
        verify(KEYS, token, now=1_001 + LIFETIME_SECONDS)


def test_an_assertion_signed_with_an_older_key_still_verifies_during_rotation() -> None:
    token = sign(SecretStr("old:an-old-secret-of-enough-bytes"), "shop-a", "user:u1", "viewer", now=5)
    assert verify(KEYS, token, now=5).role == "viewer"


def test_a_changed_workspace_a_link_key_itself_or_garbage_is_refused() -> None:
    token = sign(KEYS, "shop-a", "user:u1", "viewer", now=5)
    key_id, payload, mac = token.split(".")
    other = sign(KEYS, "shop-b", "user:u1", "admin", now=5).split(".")[1]
    for forged in (f"{key_id}.{other}.{mac}", f"unknown.{payload}.{mac}", "", "a.b", "new.!!!.x"):
        with pytest.raises(AssertionRefused):
            verify(KEYS, forged, now=5)
    with pytest.raises(AssertionRefused):  # signed with the link key itself, not the derived one
        verify(SecretStr("new:another-secret-of-enough-bytes"), token, now=5)
