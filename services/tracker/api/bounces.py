"""Bounce intake for workspaces: a provider's webhook JSON, or a raw delivery status notification."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request

from services.tracker.domain.feedback import complaint_events
from services.tracker.usecases.bounce_intake import BounceIntake, original_message_id
from services.tracker.usecases.feedback_intake import FeedbackIntake
from shared.api_auth import ContactsWrite
from shared.bounces import parse_bounce_webhook, parse_dsn

__all__ = ["bounce_router"]


def _intake(request: Request) -> BounceIntake:
    intake: BounceIntake = request.app.state.bounce_intake
    return intake


IntakeDep = Annotated[BounceIntake, Depends(_intake)]


def bounce_router() -> APIRouter:
    router = APIRouter(prefix="/v1/bounces", tags=["bounces"])

    @router.post("", summary="Bounces and spam complaints from a mail provider's webhook")
    async def webhook(
        workspace_id: ContactsWrite, intake: IntakeDep, payload: Annotated[dict[str, Any], Body()], request: Request
    ) -> dict[str, int]:
        try:
            bounces = parse_bounce_webhook(payload)
            complaints = complaint_events(payload)
        except ValueError as error:
            raise HTTPException(422, str(error)) from error
        feedback: FeedbackIntake = request.app.state.feedback_intake
        answer = dataclasses.asdict(await intake.accept(workspace_id, bounces, source="bounce-webhook"))
        return {**answer, "complaints": await feedback.complaints(workspace_id, complaints, source="bounce-webhook")}

    @router.post(
        "/dsn",
        summary="A bounce mail (delivery status notification), a spam complaint report (ARF, RFC 5965) or the "
        "mail a mailto unsubscribe writes, as message/rfc822",
        openapi_extra={"requestBody": {"content": {"message/rfc822": {"schema": {"type": "string"}}}}},
    )
    async def dsn(workspace_id: ContactsWrite, intake: IntakeDep, request: Request) -> dict[str, int]:
        raw = await request.body()
        feedback: FeedbackIntake = request.app.state.feedback_intake
        acted = await feedback.accept(raw, source="bounce-webhook", workspace_id=workspace_id)
        if acted.kind == "other_workspace":
            raise HTTPException(404, "the message reported is not one of this workspace's")
        if acted.kind != "unknown":  # a complaint report or a mailto unsubscribe, acted on
            return {"complaints": int(acted.kind == "complaint"), "unsubscribes": int(acted.kind == "unsubscribe")}
        message_id = original_message_id(raw)
        try:
            found = parse_dsn(raw)
        except ValueError as error:
            raise HTTPException(422, str(error)) from error
        bounces = [dataclasses.replace(bounce, message_id=message_id) for bounce in found]
        return dataclasses.asdict(await intake.accept(workspace_id, bounces, source="dsn"))

    return router
