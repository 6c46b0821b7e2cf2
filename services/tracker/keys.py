"""The tracker's key ring, read from the `kid:secret,kid2:secret2` setting the sender shares."""

from __future__ import annotations

from pydantic import SecretStr

from shared.errors import ConfigurationError
from shared.tokens import KeyRing

__all__ = ["key_ring"]


def key_ring(setting: SecretStr | str) -> KeyRing:
    """The first pair signs, every pair verifies; a malformed setting stops start-up, not a request."""
    text = setting.get_secret_value() if isinstance(setting, SecretStr) else setting
    pairs: list[tuple[str, bytes]] = []
    for item in text.split(","):
        key_id, colon, secret = item.strip().partition(":")
        if not colon or not key_id or not secret:
            raise ConfigurationError("link signing keys must look like `kid:secret,kid2:secret2`")
        pairs.append((key_id, secret.encode()))
    try:
        return KeyRing(pairs)
    except ValueError as error:
        raise ConfigurationError(f"link signing keys: {error}") from error
