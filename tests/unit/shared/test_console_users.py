"""Console passwords and roles: argon2id hashes, a minimum length, and roles that include the ones below."""

from __future__ import annotations

import pytest

from shared.console_users import _verify, allows, checked_role, hash_password, new_password


def test_a_password_is_stored_as_an_argon2id_hash_that_verifies_only_itself() -> None:
    password = new_password()
    stored = hash_password(password)
    assert stored.startswith("$argon2id$") and password not in stored
    assert _verify(stored, password)
    assert not _verify(stored, password + "x")
    assert not _verify("not a hash", password)


def test_short_passwords_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 12"):
        hash_password("short")


def test_each_role_may_do_what_the_roles_below_it_may() -> None:
    assert allows("admin", "editor") and allows("editor", "viewer") and allows("viewer", "viewer")
    assert not allows("viewer", "editor") and not allows("editor", "admin")
    with pytest.raises(ValueError, match="unknown role"):
        checked_role("owner")
