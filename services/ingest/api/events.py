"""POST /v1/events and /v1/events/batch."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from services.ingest.api.errors import BODY_ANSWERS, answers, describe
from services.ingest.domain.requests import EXAMPLES, BatchIn, EventIn
from services.ingest.usecases.intake import Intake
from shared.api_auth import EventsWrite

router = APIRouter(prefix="/v1", tags=["events"])
_EVENT = TypeAdapter(EventIn)
_EVENTS = TypeAdapter(list[EventIn])


class Accepted(BaseModel):
    event_id: str = Field(description="Keep it: posting again with this id is a safe retry.")


class BatchItemError(BaseModel):
    index: int
    errors: list[dict[str, str]]


class BatchAccepted(BaseModel):
    accepted: list[Accepted] = Field(description="In the order posted, valid events only.")
    accepted_indexes: list[int]
    rejected: list[BatchItemError]


def _intake(request: Request) -> Intake:
    intake: Intake = request.app.state.intake
    return intake


@router.post(
    "/events",
    status_code=202,
    response_model=Accepted,
    summary="Post one event",
    description="Accepted (202) only once the broker has the event. 503 with Retry-After when it is away.",
    responses=answers(*BODY_ANSWERS, 503),
)
async def post_event(
    request: Request,
    workspace_id: EventsWrite,
    event: Annotated[EventIn, Body(openapi_examples={k: {"value": v} for k, v in EXAMPLES.items()})],
) -> Accepted:
    [event_id] = await _intake(request).accept_events(workspace_id, [event])
    return Accepted(event_id=event_id)


@router.post(
    "/events/batch",
    status_code=202,
    response_model=BatchAccepted,
    summary="Post up to 1,000 events",
    description=(
        "All or nothing by default: one bad event rejects the batch (422, every error listed by index). "
        "With `partial: true` the valid events are accepted and the bad ones reported."
    ),
    responses=answers(*BODY_ANSWERS, 503),
)
async def post_batch(request: Request, workspace_id: EventsWrite, batch: BatchIn) -> Any:
    limit = request.app.state.settings.ingest_max_batch
    if len(batch.events) > limit:
        return Response(too_large(limit), 413, media_type="application/json")
    valid, rejected = _validate(batch.events)
    if rejected and not batch.partial:
        return JSONResponse(
            {"error": "invalid_batch", "rejected": [item.model_dump() for item in rejected]}, status_code=422
        )
    event_ids = await _intake(request).accept_events(workspace_id, [event for _, event in valid]) if valid else []
    answer = batch_accepted(event_ids, [index for index, _ in valid], [item.model_dump() for item in rejected])
    return Response(answer, status_code=202, media_type="application/json")


def too_large(limit: int) -> bytes:
    return orjson.dumps(
        {"error": "batch_too_large", "errors": [{"path": "$.events", "reason": f"at most {limit} events"}]}
    )


def batch_accepted(event_ids: list[str], indexes: list[int] | range, rejected: list[dict[str, Any]]) -> bytes:
    """The BatchAccepted body, built by hand: 1,000 items need no second validation."""
    body = {
        "accepted": [{"event_id": event_id} for event_id in event_ids],
        "accepted_indexes": list(indexes),
        "rejected": rejected,
    }
    return orjson.dumps(body)


def _validate(events: list[dict[str, Any]]) -> tuple[list[tuple[int, Any]], list[BatchItemError]]:
    """The whole list in one pass when it is clean (the usual case); item by item to say what is wrong."""
    try:
        return list(enumerate(_EVENTS.validate_python(events))), []
    except ValidationError:
        pass
    valid: list[tuple[int, Any]] = []
    rejected: list[BatchItemError] = []
    for index, raw in enumerate(events):
        try:
            valid.append((index, _EVENT.validate_python(raw)))
        except ValidationError as error:
            rejected.append(BatchItemError(index=index, errors=_item_errors(error)))
    return valid, rejected


def _item_errors(error: ValidationError) -> list[dict[str, str]]:
    return describe([{**e, "loc": ("body", *e["loc"])} for e in error.errors()])
