"""Ids made fast: unique ones from a random per-process prefix and a counter, and name-based
UUIDv5 text without the `uuid` module's object overhead.

`uuid4()` reads the kernel's random source on every call, which shows on hot paths; this
gives ids of the same length (32 hex characters) that never repeat within a process and
collide across processes with negligible probability (80 random bits per process).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import uuid

_PREFIX = os.urandom(10).hex()
_COUNTER = itertools.count()


def new_id() -> str:
    return f"{_PREFIX}{next(_COUNTER):012x}"


def uuid5_text(namespace: uuid.UUID, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))`, without building a UUID object (hot paths make several per record).

    The ids are stored and compared across releases, so this must stay byte-for-byte equal to uuid5."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])  # noqa: S324 - uuid5 is SHA-1
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
