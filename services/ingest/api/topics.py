"""Subscription topics a workspace offers (newsletter, offers, product news…), and a contact's choices by API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field, StrictBool

from services.ingest.adapters import topics as stored
from services.ingest.adapters.subscriptions import SubscriptionChange, change_subscriptions
from services.ingest.api.errors import BODY_ANSWERS, NotFound, answers
from shared.api_auth import ContactsRead, ContactsWrite
from shared.consent.promise import Cap, TopicPromise, caps_exceed, email_caps
from shared.contract.fields import ID_PATTERN, LINE_PATTERN, TEXT_PATTERN, TOPIC_ID_PATTERN
from shared.contract.internal import Engagement
from shared.contract.topics import ENGAGEMENT

router = APIRouter(prefix="/v1", tags=["subscriptions"])
TopicId = Annotated[str, Path(pattern=TOPIC_ID_PATTERN, description="e.g. newsletter")]
ContactId = Annotated[str, Path(pattern=ID_PATTERN, description="Dripline's contact id.")]
# A subscription choice: a topic, * for marketing as a whole, or a channel's consent (channel:sms).
Choice = Annotated[str, Field(pattern=r"^(\*|channel:(email|sms|post|web)|[a-z0-9][a-z0-9_\-]{0,63})$")]


class TopicIn(BaseModel):
    name: str = Field(
        min_length=1, max_length=200, pattern=LINE_PATTERN, description="What people see, e.g. 'Weekly newsletter'."
    )
    description: str | None = Field(
        default=None, max_length=1000, pattern=TEXT_PATTERN, description="How often, and what about (may span lines)."
    )
    promise: TopicPromise | None = Field(
        default=None,
        description="How often the topic writes, per language, shown in the confirmation email, the footer and "
        "on the preferences page; compared with the workspace's frequency caps.",
    )


class TopicOut(BaseModel):
    """As stored (names kept from before today's rules included)."""

    topic: str
    name: str
    description: str | None = None
    promise: TopicPromise | None = None
    warnings: list[str] = Field(
        default_factory=list, description="The workspace's frequency caps would let flows break the promise."
    )


class SubscriptionsIn(BaseModel):
    """Topic → subscribed (true) or unsubscribed (false); `*` is marketing as a whole."""

    subscriptions: dict[Choice, StrictBool] = Field(max_length=100, examples=[{"newsletter": True, "offers": False}])
    policy_version: str | None = Field(default=None, max_length=100, pattern=LINE_PATTERN)


@router.get(
    "/topics",
    response_model=list[TopicOut],
    summary="The workspace's subscription topics",
    responses=answers(401, 403, 429),
)
async def list_topics(request: Request, workspace_id: ContactsRead) -> list[TopicOut]:
    pool = request.app.state.resources.pool
    rows = await stored.list_topics(pool, workspace_id)
    caps = email_caps(await stored.flow_policy(pool, workspace_id))
    return [_public(TopicOut(**row), caps) for row in rows]


def _public(topic: TopicOut, caps: Sequence[Cap]) -> TopicOut:
    broken = caps_exceed(topic.promise, caps) if topic.promise else None
    return topic.model_copy(update={"warnings": [broken] if broken else []})


@router.put(
    "/topics/{topic}",
    response_model=TopicOut,
    summary="Create or rename a subscription topic",
    responses=answers(*BODY_ANSWERS),
)
async def put_topic(request: Request, workspace_id: ContactsWrite, topic: TopicId, body: TopicIn) -> TopicOut:
    """Answered with `warnings` when the workspace's frequency caps allow more than the promise says."""
    pool = request.app.state.resources.pool
    promise = body.promise.model_dump() if body.promise else None
    await stored.put_topic(pool, workspace_id, topic, body.name, body.description, promise)
    caps = email_caps(await stored.flow_policy(pool, workspace_id))
    return _public(TopicOut(topic=topic, **body.model_dump()), caps)


@router.put(
    "/contacts/{contact_id}/subscriptions",
    summary="Change a contact's subscriptions (recorded in the consent ledger, source api)",
    response_model=dict[str, str],
    responses=answers(*BODY_ANSWERS, 404, 503),
)
async def put_subscriptions(
    request: Request, workspace_id: ContactsWrite, contact_id: ContactId, body: SubscriptionsIn
) -> Any:
    """A topic the workspace does not offer yet is created (named by its id), as a sign-up naming it does."""
    pool = request.app.state.resources.pool
    if not await stored.contact_exists(pool, workspace_id, contact_id):
        raise NotFound("path.contact_id", "no such contact in this workspace")
    changes = [SubscriptionChange(topic, wanted) for topic, wanted in body.subscriptions.items()]
    async with pool.acquire() as connection, connection.transaction():
        await stored.offer_topics(connection, [(workspace_id, topic) for topic in body.subscriptions])
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
