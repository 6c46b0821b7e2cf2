"""How a person is recognised without storing who they are.

Identifiers (email, phone, the shop's own id) are normalised and hashed with the
workspace id, so identity and suppression tables can match a person again without
holding their address.
"""

from __future__ import annotations

import hashlib
from typing import Literal

IdentifierKind = Literal["external_id", "email", "phone"]

# Strongest first: when one event names several identifiers that point at different
# contacts, the stronger identifier wins.
IDENTIFIER_PRIORITY: tuple[IdentifierKind, ...] = ("external_id", "email", "phone")


def normalise(kind: IdentifierKind, value: str) -> str:
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return "".join(ch for ch in value if ch.isdigit() or ch == "+")
    return value


def identifier_hash(workspace_id: str, kind: IdentifierKind, value: str) -> bytes:
    material = f"{workspace_id}\x1f{kind}\x1f{normalise(kind, value)}".encode()
    return hashlib.sha256(material).digest()
