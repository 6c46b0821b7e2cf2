"""Subscription topics a workspace offers (newsletter, offers, product news…), and a contact's choices by API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field

from services.ingest.adapters.subscriptions import SubscriptionChange, change_subscriptions
from shared.api_auth import WorkspaceDep
from shared.contract.internal import Engagement
from shared.contract.topics import ENGAGEMENT

router = APIRouter(prefix="/v1", tags=["subscriptions"])
TopicId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="e.g. newsletter")]


class TopicIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="What people see, e.g. 'Weekly newsletter'.")
    description: str | None = Field(default=None, max_length=1000, description="How often, and what about.")


class TopicOut(TopicIn):
    topic: str


class SubscriptionsIn(BaseModel):
    """Topic → subscribed or unsubscribed; `*` is marketing as a whole."""

    subscriptions: dict[str, bool] = Field(examples=[{"newsletter": True, "offers": False}])
    policy_version: str | None = None


@router.get("/topics", response_model=list[TopicOut], summary="The workspace's subscription topics")
async def list_topics(request: Request, workspace_id: WorkspaceDep) -> list[TopicOut]:
    rows = await request.app.state.resources.pool.fetch(
        "SELECT topic, name, description FROM subscription_topics WHERE workspace_id = $1 ORDER BY topic", workspace_id
    )
    return [TopicOut(**dict(row)) for row in rows]


@router.put("/topics/{topic}", response_model=TopicOut, summary="Create or rename a subscription topic")
async def put_topic(request: Request, workspace_id: WorkspaceDep, topic: TopicId, body: TopicIn) -> TopicOut:
    await request.app.state.resources.pool.execute(
        "INSERT INTO subscription_topics (workspace_id, topic, name, description) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (workspace_id, topic) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description",
        workspace_id,
        topic,
        body.name,
        body.description,
    )
    return TopicOut(topic=topic, **body.model_dump())


@router.put(
    "/contacts/{contact_id}/subscriptions",
    summary="Change a contact's subscriptions (recorded in the consent ledger, source api)",
)
async def put_subscriptions(
    request: Request, workspace_id: WorkspaceDep, contact_id: str, body: SubscriptionsIn
) -> dict[str, str]:
    pool = request.app.state.resources.pool
    known = {
        row["topic"]
        for row in await pool.fetch("SELECT topic FROM subscription_topics WHERE workspace_id = $1", workspace_id)
    }
    unknown = sorted(set(body.subscriptions) - known - {"*"})
    if unknown:
        raise HTTPException(
            422, {"errors": [{"path": f"$.subscriptions.{t}", "reason": "no such topic"} for t in unknown]}
        )
    exists = await pool.fetchval(
        "SELECT 1 FROM contacts WHERE workspace_id = $1 AND contact_id = $2", workspace_id, contact_id
    )
    if not exists:
        raise HTTPException(404, "no such contact in this workspace")
    changes = [SubscriptionChange(topic, wanted) for topic, wanted in body.subscriptions.items()]
    async with pool.acquire() as connection, connection.transaction():
        result = await change_subscriptions(
            connection, workspace_id, contact_id, changes, source="api", policy_version=body.policy_version
        )
    # Flows listen on the engagement topic: an unsubscribe stops pending marketing steps now, and a
    # topic change makes the scheduler re-check the contact's topic flows.
    if result.get("*") == "unsubscribed":
        kind: Literal["unsubscribed", "preferences_changed"] | None = "unsubscribed"
    else:
        kind = "preferences_changed" if set(result) - {"*"} else None
    if kind is not None:
        now = datetime.now(UTC)
        notice = Engagement(
            event_id=f"api-{kind}-{uuid.uuid4().hex}",
            workspace_id=workspace_id,
            contact_id=contact_id,
            occurred_at=now,
            received_at=now,
            kind=kind,
        )
        await request.app.state.resources.producer.publish(ENGAGEMENT, [notice])
    return result
