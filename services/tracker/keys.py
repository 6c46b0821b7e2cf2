"""The tracker's key ring from the shared `link_signing_keys` setting."""

from __future__ import annotations

from pydantic import SecretStr

from shared.errors import ConfigurationError
from shared.tokens import KeyRing, key_ring_from_setting

__all__ = ["key_ring"]


def key_ring(setting: SecretStr | str) -> KeyRing:
    """A malformed setting stops start-up with a configuration error, never a request."""
    text = setting.get_secret_value() if isinstance(setting, SecretStr) else setting
    try:
        return key_ring_from_setting(text)
    except ValueError as error:
        raise ConfigurationError(f"link signing keys: {error}") from error
