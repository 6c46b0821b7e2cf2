"""Who each workspace sends as: the `sending_identities` table, one row a workspace, with named queries.

The DKIM private key is stored as a Fernet token (AES-128-CBC with HMAC-SHA256) under a key derived
from DRIPLINE_IDENTITY_ENCRYPTION_KEY, so a copy of the database alone cannot sign mail as a shop.
A workspace without a row sends as the process-wide settings say (DRIPLINE_MAIL_FROM and the rest).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

__all__ = ["KeyBox", "SendingIdentity", "SendingIdentityStore", "UnreadableKey"]


class UnreadableKey(Exception):
    """A stored DKIM key does not decrypt: DRIPLINE_IDENTITY_ENCRYPTION_KEY changed since it was stored."""


class KeyBox:
    """Encrypts and decrypts stored private keys with the setting's key."""

    def __init__(self, secret: SecretStr) -> None:
        digest = hashlib.sha256(b"dripline-identity-keys:" + secret.get_secret_value().encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def open(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise UnreadableKey("the stored DKIM key does not decrypt with DRIPLINE_IDENTITY_ENCRYPTION_KEY") from None


@dataclass(frozen=True, slots=True)
class SendingIdentity:
    workspace_id: str
    from_name: str
    from_address: str
    reply_to: str | None
    postal_address: str | None
    sending_domain: str
    tracking_domain: str | None
    dkim_selector: str
    dkim_private_key: bytes  # PEM, decrypted
    warmup_started_on: date | None
    verified_at: datetime | None = None


_COLUMNS = (
    "workspace_id, from_name, from_address, reply_to, postal_address, sending_domain, tracking_domain, "
    "dkim_selector, dkim_private_key, warmup_started_on, verified_at"
)
_UPSERT = f"""
INSERT INTO sending_identities ({_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)
ON CONFLICT (workspace_id) DO UPDATE SET
  from_name = EXCLUDED.from_name, from_address = EXCLUDED.from_address, reply_to = EXCLUDED.reply_to,
  postal_address = EXCLUDED.postal_address, sending_domain = EXCLUDED.sending_domain,
  tracking_domain = EXCLUDED.tracking_domain, dkim_selector = EXCLUDED.dkim_selector,
  dkim_private_key = EXCLUDED.dkim_private_key, warmup_started_on = EXCLUDED.warmup_started_on,
  verified_at = NULL, updated_at = now()
"""


class SendingIdentityStore:
    def __init__(self, db: asyncpg.Pool | asyncpg.Connection, box: KeyBox) -> None:
        self._db, self._box = db, box

    async def save(self, identity: SendingIdentity) -> None:
        """Store the workspace's identity (replacing its previous one); it is unverified until checked."""
        i = identity
        await self._db.execute(
            _UPSERT,
            i.workspace_id, i.from_name, i.from_address, i.reply_to, i.postal_address, i.sending_domain,
            i.tracking_domain, i.dkim_selector, self._box.seal(i.dkim_private_key), i.warmup_started_on,
        )  # fmt: skip

    async def mark_verified(self, workspace_id: str, when: datetime) -> None:
        await self._db.execute(
            "UPDATE sending_identities SET verified_at = $2, updated_at = now() WHERE workspace_id = $1",
            workspace_id,
            when,
        )

    async def get(self, workspace_id: str) -> SendingIdentity | None:
        """`UnreadableKey` when its key does not decrypt."""
        found = (await self.many([workspace_id])).get(workspace_id)
        if isinstance(found, UnreadableKey):
            raise found
        return found

    async def many(self, workspace_ids: Iterable[str]) -> dict[str, SendingIdentity | UnreadableKey]:
        """By workspace; one whose key does not decrypt is the error, so its mail fails instead of going unsigned."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM sending_identities WHERE workspace_id = ANY($1::text[])", list(workspace_ids)
        )
        found: dict[str, SendingIdentity | UnreadableKey] = {}
        for row in rows:
            try:
                found[row["workspace_id"]] = self._identity(row)
            except UnreadableKey as error:
                found[row["workspace_id"]] = error
        return found

    async def all(self) -> list[SendingIdentity]:
        rows = await self._db.fetch(f"SELECT {_COLUMNS} FROM sending_identities ORDER BY workspace_id")
        return [self._identity(row) for row in rows]

    def _identity(self, row: asyncpg.Record) -> SendingIdentity:
        values = dict(row)
        values["dkim_private_key"] = self._box.open(bytes(row["dkim_private_key"]))
        return SendingIdentity(**values)
