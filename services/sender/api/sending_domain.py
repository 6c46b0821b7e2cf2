"""The workspace's sending domain through the API, as `dripline domains` does it: set it (a new DKIM key
and the DNS records to publish), read it, verify its records. Admin keys only: it decides whom the
workspace's mail claims to be from."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

import asyncpg
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from shared.api_auth import Admin
from shared.audit import record_api_change
from shared.sending_domains import (
    DnsRecord,
    IdentityError,
    check_records,
    identity_records,
    new_identity,
    resolver_for,
)
from shared.sending_identities import KeyBox, SendingIdentity, SendingIdentityStore, UnreadableKey
from shared.settings import SenderSettings

router = APIRouter(prefix="/v1/sending-domain", tags=["sending domain"])
NONE_YET = "this workspace has no sending domain: PUT /v1/sending-domain sets one"


class SendingDomainCreate(BaseModel):
    domain: str = Field(max_length=253, description="The domain mail is sent from, e.g. shop.example.")
    from_name: str = Field(min_length=1, max_length=200, description="The sender's name readers see.")
    from_address: str | None = Field(default=None, max_length=320, description="On the domain. Default: hello@DOMAIN.")
    reply_to: str | None = Field(default=None, max_length=320)
    postal_address: str | None = Field(default=None, max_length=500, description="Default: DRIPLINE_POSTAL_ADDRESS.")
    tracking_domain: str | None = Field(default=None, max_length=253, description="A CNAME to the tracker.")
    warm_up: bool = Field(default=True, description="Ramp the daily volume up from today (DRIPLINE_WARMUP_SCHEDULE).")


class Record(BaseModel):
    purpose: str
    type: Literal["TXT", "CNAME"]
    name: str
    value: str


class SendingDomainPublic(BaseModel):
    domain: str
    from_name: str
    from_address: str
    reply_to: str | None
    postal_address: str | None
    tracking_domain: str | None
    dkim_selector: str
    warmup_started_on: date | None
    verified_at: datetime | None
    records: list[Record] = Field(description="What to publish in DNS; the private key never leaves Dripline.")


class Check(Record):
    published: bool
    found: str = Field(description="What DNS answered, or why nothing.")


class Verification(BaseModel):
    verified: bool
    checks: list[Check]


def _settings(request: Request) -> SenderSettings:
    settings: SenderSettings = request.app.state.sender.settings
    return settings


def _store(request: Request) -> SendingIdentityStore:
    pool: asyncpg.Pool = request.app.state.resources.pool
    return SendingIdentityStore(pool, KeyBox(_settings(request).identity_encryption_key))


def _records(request: Request, identity: SendingIdentity) -> list[DnsRecord]:
    settings = _settings(request)
    return identity_records(identity, tracker_public_url=settings.tracker_public_url, spf_include=settings.spf_include)


def _public(request: Request, identity: SendingIdentity) -> SendingDomainPublic:
    i = identity
    return SendingDomainPublic(
        domain=i.sending_domain, from_name=i.from_name, from_address=i.from_address, reply_to=i.reply_to,
        postal_address=i.postal_address, tracking_domain=i.tracking_domain, dkim_selector=i.dkim_selector,
        warmup_started_on=i.warmup_started_on, verified_at=i.verified_at,
        records=[Record(purpose=r.purpose, type=r.type, name=r.name, value=r.value) for r in _records(request, i)],
    )  # fmt: skip


async def _identity(request: Request, workspace: str) -> SendingIdentity:
    try:
        identity = await _store(request).get(workspace)
    except UnreadableKey as error:
        raise HTTPException(409, f"{error}: set the sending domain again") from error
    if identity is None:
        raise HTTPException(404, NONE_YET)
    return identity


@router.get("", summary="The workspace's sending domain and the DNS records it needs")
async def get_sending_domain(request: Request, workspace: Admin) -> SendingDomainPublic:
    return _public(request, await _identity(request, workspace))


@router.put("", summary="Send as a domain: a new DKIM key, and the DNS records to publish")
async def put_sending_domain(request: Request, workspace: Admin, body: SendingDomainCreate) -> SendingDomainPublic:
    """Replaces the workspace's identity and key (a new dated selector); unverified until checked.
    Written to the audit log (`sending_domain.changed`)."""
    try:
        identity = new_identity(
            workspace, body.domain, today=datetime.now(UTC).date(), from_name=body.from_name,
            from_address=body.from_address, reply_to=body.reply_to, postal_address=body.postal_address,
            tracking_domain=body.tracking_domain, warm_up=body.warm_up,
        )  # fmt: skip
    except IdentityError as error:
        detail = [{"loc": ["body", error.field], "msg": str(error), "type": "value_error"}]
        raise HTTPException(422, detail) from error
    await _store(request).save(identity)
    await record_api_change(request, workspace, "sending_domain.changed", identity.sending_domain)
    return _public(request, identity)


@router.post("/verify", summary="Check that DNS has each record the sending domain needs")
async def verify_sending_domain(request: Request, workspace: Admin) -> Verification:
    """Asks DNS now (DRIPLINE_DNS_NAMESERVERS, else the system's resolver); marks the domain verified when
    every record is published."""
    identity = await _identity(request, workspace)
    checks = await check_records(_records(request, identity), resolver_for(_settings(request).dns_nameservers))
    verified = all(check.ok for check in checks)
    if verified:
        await _store(request).mark_verified(workspace, datetime.now(UTC))
    return Verification(
        verified=verified,
        checks=[
            Check(**Record(purpose=c.record.purpose, type=c.record.type, name=c.record.name, value=c.record.value)
                  .model_dump(), published=c.ok, found=c.found)
            for c in checks
        ],
    )  # fmt: skip
