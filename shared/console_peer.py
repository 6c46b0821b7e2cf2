"""How the console (served by the scheduler) asks the sender for what only the sender can do: render a
template and send a test. Each request carries a short-lived assertion of the workspace, the console user
and their role, signed with a key derived from the link signing keys every service already shares (its
own label, so an assertion is never a valid link token, nor a link token an assertion).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

import orjson
from pydantic import SecretStr

HEADER = "X-Dripline-Console"
LIFETIME_SECONDS = 60
_LABEL = b"dripline console peer v1"


class AssertionRefused(ValueError):
    """Forged, expired or unreadable: the sender answers 401."""


@dataclass(frozen=True)
class ConsoleAssertion:
    workspace_id: str
    actor: str  # user:<id>, as the audit log names console users
    role: str  # viewer | editor | admin
    issued_at: int


def _keys(setting: SecretStr) -> dict[str, bytes]:
    """Key id -> this purpose's key, the first one signing (as for links: `kid:secret`, comma-separated)."""
    found: dict[str, bytes] = {}
    for pair in setting.get_secret_value().split(","):
        key_id, _, secret = pair.strip().partition(":")
        if key_id and secret:
            found[key_id] = hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()
    if not found:
        raise AssertionRefused("no link signing key to sign console assertions with")
    return found


def _mac(key: bytes, signed: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest()).decode().rstrip("=")


def sign(setting: SecretStr, workspace_id: str, actor: str, role: str, now: float | None = None) -> str:
    key_id, key = next(iter(_keys(setting).items()))
    claims = {"w": workspace_id, "a": actor, "r": role, "t": int(now if now is not None else time.time())}
    payload = base64.urlsafe_b64encode(orjson.dumps(claims)).decode().rstrip("=")
    signed = f"{key_id}.{payload}"
    return f"{signed}.{_mac(key, signed)}"


def verify(setting: SecretStr, token: str, now: float | None = None) -> ConsoleAssertion:
    key_id, _, rest = token.partition(".")
    payload, _, mac = rest.partition(".")
    key = _keys(setting).get(key_id)
    if key is None or not hmac.compare_digest(_mac(key, f"{key_id}.{payload}"), mac):
        raise AssertionRefused("the console assertion's signature does not match")
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        found = ConsoleAssertion(str(claims["w"]), str(claims["a"]), str(claims["r"]), int(claims["t"]))
    except (ValueError, KeyError, TypeError) as error:
        raise AssertionRefused("the console assertion cannot be read") from error
    if abs((now if now is not None else time.time()) - found.issued_at) > LIFETIME_SECONDS:
        raise AssertionRefused("the console assertion has expired")
    return found
