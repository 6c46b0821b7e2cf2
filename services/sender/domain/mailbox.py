"""An email address as SMTP and the `To:` header carry it.

The domain always travels as IDNA A-labels (`blåbær.no` → `xn--blbr-roah.no`): plain ASCII that
every server and header takes, so a Unicode domain never needs SMTPUTF8. A non-ASCII local part
has no ASCII form: it goes as UTF-8 (RFC 6531 envelope, RFC 6532 header) only to a server that
offers SMTPUTF8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import idna

__all__ = ["AddressError", "Mailbox", "mailbox_of"]

# Control characters (line breaks above all) would let an address write headers of its own.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AddressError(ValueError):
    """An address no SMTP server can be given."""


@dataclass(frozen=True, slots=True)
class Mailbox:
    local: str
    domain: str  # A-labels: ASCII

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}"

    @property
    def needs_smtputf8(self) -> bool:
        return not self.local.isascii()


def mailbox_of(address: str) -> Mailbox:
    """`AddressError` when the address has no domain, holds control characters, or its domain is no valid IDN."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise AddressError(f"not an email address: {address!r}")
    if _CONTROL.search(address):
        raise AddressError(f"control characters in an email address: {address!r}")
    if domain.isascii():
        return Mailbox(local, domain)
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise AddressError(f"the domain {domain!r} is not a valid internationalised domain name: {error}") from error
    return Mailbox(local, ascii_domain)
