"""The workspace's default locale: the language a reader gets when their own locale finds no variant of a
template (a German reader of a template in English and Norwegian, in a workspace whose default is `nb`)."""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from services.sender.domain.rendering.locales import KnownLocale
from shared.api_auth import Admin
from shared.audit import record_api_change
from shared.workspaces import load_default_locale, save_default_locale

router = APIRouter(prefix="/v1/default-locale", tags=["templates"])


class DefaultLocale(BaseModel):
    locale: KnownLocale | None = Field(
        description="A language tag (nb, sv, en, nb-NO, …); null: no default, readers whose locale finds no "
        "variant get the template's own fields.",
    )


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.resources.pool
    return pool


@router.get("", summary="The language readers get when none of a template's variants is theirs")
async def get_default_locale(request: Request, workspace: Admin) -> DefaultLocale:
    return DefaultLocale(locale=await load_default_locale(_pool(request), workspace))


@router.put("", summary="Set the workspace's default locale")
async def put_default_locale(request: Request, workspace: Admin, body: DefaultLocale) -> DefaultLocale:
    """Written to the audit log (`default_locale.changed`)."""
    await save_default_locale(_pool(request), workspace, body.locale)
    await record_api_change(request, workspace, "default_locale.changed", "default_locale", locale=body.locale)
    return body
