"""How a person is recognised without storing who they are.

Identifiers (email, phone, the shop's own id) are normalised and hashed with the workspace id,
then wrapped in an HMAC with each of `DRIPLINE_IDENTIFIER_KEYS` in turn, so identity and
suppression tables can match a person again without holding their address, and a copy of those
tables is useless without the keys: a phone number has too few possible values for a bare hash
to hide it. The keys come from the environment, the same in every process; the stored hashes
carry the key ids they were made with (`shared/identity_keys.py`), which is how adding a key
re-keys them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from pydantic import SecretStr

from shared.errors import ConfigurationError
from shared.settings import common

IdentifierKind = Literal["external_id", "email", "phone"]

# Strongest first: when one event names several identifiers that point at different
# contacts, the stronger identifier wins.
IDENTIFIER_PRIORITY: tuple[IdentifierKind, ...] = ("external_id", "email", "phone")
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")


def normalise(kind: IdentifierKind, value: str) -> str:
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return "".join(ch for ch in value if ch.isdigit() or ch == "+")
    return value


def bare_hash(workspace_id: str, kind: str, value: str) -> bytes:
    """The unkeyed SHA-256 every keyed hash starts from (and what hashes were before keys)."""
    return hashlib.sha256(f"{workspace_id}\x1f{kind}\x1f{value}".encode()).digest()


class IdentifierKeys:
    """HMAC-SHA256 keys, oldest first: a hash is the bare hash wrapped in each key in turn.

    Wrapping rather than replacing is what makes rotation possible: the values are not stored, so a
    stored hash can only be carried to a new key by wrapping it once more."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        self._keys = tuple(keys)

    @property
    def key_ids(self) -> list[str]:
        return [key_id for key_id, _ in self._keys]

    def first(self, count: int) -> IdentifierKeys:
        """The oldest `count` keys: what hashes made before the later keys were added are made with."""
        return IdentifierKeys(self._keys[:count]) if count else _NO_KEYS

    def wrap(self, digest: bytes, *, after: int = 0) -> bytes:
        """`digest` (made with the first `after` keys) carried through the remaining keys."""
        for _, secret in self._keys[after:]:
            digest = hmac.digest(secret, digest, "sha256")
        return digest

    def hash(self, workspace_id: str, kind: str, value: str) -> bytes:
        return self.wrap(bare_hash(workspace_id, kind, value))


_NO_KEYS = IdentifierKeys(())


def identifier_keys_from_setting(spec: SecretStr | str) -> IdentifierKeys:
    """`kid:secret,kid2:secret2` (oldest first) → keys; a malformed setting stops start-up."""
    text = spec.get_secret_value() if isinstance(spec, SecretStr) else spec
    pairs: list[tuple[str, bytes]] = []
    for item in text.split(","):
        key_id, colon, secret = item.strip().partition(":")
        if not colon or not _KEY_ID.fullmatch(key_id) or not secret:
            raise ConfigurationError("DRIPLINE_IDENTIFIER_KEYS must look like `kid:secret,kid2:secret2`")
        pairs.append((key_id, secret.encode()))
    if not pairs:
        raise ConfigurationError("DRIPLINE_IDENTIFIER_KEYS needs at least one `kid:secret`")
    if len({key_id for key_id, _ in pairs}) != len(pairs):
        raise ConfigurationError("DRIPLINE_IDENTIFIER_KEYS names one key id twice")
    return IdentifierKeys(pairs)


@lru_cache(maxsize=1)
def process_keys() -> IdentifierKeys:
    """This process's keys, read once from the environment (`DRIPLINE_IDENTIFIER_KEYS`)."""
    return identifier_keys_from_setting(common().identifier_keys)


def identifier_hash(workspace_id: str, kind: IdentifierKind, value: str) -> bytes:
    return process_keys().hash(workspace_id, kind, normalise(kind, value))


def contact_id_hash(workspace_id: str, contact_id: str) -> bytes:
    """Dripline's own id, hashed like an identifier: erasure keeps it, so a request naming it stays dropped."""
    return process_keys().hash(workspace_id, "contact_id", contact_id)
