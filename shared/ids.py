"""Ids made fast: random ones (128 bits from the kernel's CSPRNG, read in blocks), and name-based
UUIDv5 text without the `uuid` module's object overhead.

Contact and event ids must not be guessable: an id is all a request names, so knowing one
must not hint at another. `uuid4()` reads the kernel's random source on every call, which shows
on hot paths; reading 4 KiB at a time costs less per id than the old prefix-and-counter did.
"""

from __future__ import annotations

import hashlib
import os
import uuid

_BLOCK = 4096  # bytes read from the kernel at once: 256 ids
_HEX = 32  # characters per id (128 bits)


class _RandomIds:
    __slots__ = ("_hex", "_at")

    def __init__(self) -> None:
        self._hex = ""
        self._at = 0

    def next(self) -> str:
        at = self._at
        if at >= len(self._hex):
            self._hex, at = os.urandom(_BLOCK).hex(), 0
        self._at = at + _HEX
        return self._hex[at : at + _HEX]

    def forget(self) -> None:
        """A forked child must not hand out the ids left in its parent's block."""
        self._hex, self._at = "", 0


_IDS = _RandomIds()
os.register_at_fork(after_in_child=_IDS.forget)


def new_id() -> str:
    """32 random hex characters (128 bits): contact ids Dripline mints, event and change ids."""
    return _IDS.next()


def uuid5_text(namespace: uuid.UUID, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))`, without building a UUID object (hot paths make several per record).

    The ids are stored and compared across releases, so this must stay byte-for-byte equal to uuid5."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])  # noqa: S324 - uuid5 is SHA-1
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
