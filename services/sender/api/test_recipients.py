"""The addresses a workspace's test sends may go to: set by an admin key, so a key that may publish
templates cannot mail whomever it likes."""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter, Request
from pydantic import BaseModel, EmailStr, Field

from shared.api_auth import Admin
from shared.audit import record_api_change
from shared.workspaces import load_test_recipients, save_test_recipients

router = APIRouter(prefix="/v1/test-recipients", tags=["templates"])


class Recipients(BaseModel):
    addresses: list[EmailStr] = Field(max_length=50, description="Kept in lower case; replaces the whole list.")


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.resources.pool
    return pool


@router.get("", summary="Where test sends may go")
async def get_recipients(request: Request, workspace: Admin) -> Recipients:
    return Recipients(addresses=await load_test_recipients(_pool(request), workspace))


@router.put("", summary="Replace the addresses test sends may go to")
async def put_recipients(request: Request, workspace: Admin, body: Recipients) -> Recipients:
    """Written to the audit log (`test_recipients.changed`, with how many: the addresses stay out of it)."""
    kept = await save_test_recipients(_pool(request), workspace, body.addresses)
    await record_api_change(request, workspace, "test_recipients.changed", "test_recipients", count=len(kept))
    return Recipients(addresses=kept)
