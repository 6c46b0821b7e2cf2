"""Bounce intake for workspaces: a provider's webhook JSON, or a raw delivery status notification."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request

from services.sender.domain.bounces import parse_bounce_webhook, parse_dsn
from services.tracker.bounce_intake import BounceIntake, original_message_id
from shared.api_auth import WorkspaceDep

__all__ = ["bounce_router"]


def _intake(request: Request) -> BounceIntake:
    intake: BounceIntake = request.app.state.bounce_intake
    return intake


IntakeDep = Annotated[BounceIntake, Depends(_intake)]


def bounce_router() -> APIRouter:
    router = APIRouter(prefix="/v1/bounces", tags=["bounces"])

    @router.post("", summary="Bounces from a mail provider's webhook")
    async def webhook(
        workspace_id: WorkspaceDep, intake: IntakeDep, payload: Annotated[dict[str, Any], Body()]
    ) -> dict[str, int]:
        try:
            bounces = parse_bounce_webhook(payload)
        except ValueError as error:
            raise HTTPException(422, str(error)) from error
        return dataclasses.asdict(await intake.accept(workspace_id, bounces, source="bounce-webhook"))

    @router.post(
        "/dsn",
        summary="A bounce mail (delivery status notification) as message/rfc822",
        openapi_extra={"requestBody": {"content": {"message/rfc822": {"schema": {"type": "string"}}}}},
    )
    async def dsn(workspace_id: WorkspaceDep, intake: IntakeDep, request: Request) -> dict[str, int]:
        raw = await request.body()
        message_id = original_message_id(raw)
        bounces = [dataclasses.replace(bounce, message_id=message_id) for bounce in parse_dsn(raw)]
        return dataclasses.asdict(await intake.accept(workspace_id, bounces, source="dsn"))

    return router
