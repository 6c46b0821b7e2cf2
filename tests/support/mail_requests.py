"""A reader and a message request in any workspace (the sender fixture's helpers stay in its own)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg

from shared.contract.internal import MessageRequested


async def subscribed_reader(db: asyncpg.Pool, workspace: str, email: str) -> str:
    """A stored contact with the address, subscribed to everything; its id."""
    contact_id = f"c-{uuid.uuid4().hex[:10]}"
    await db.execute(
        "INSERT INTO contacts (workspace_id, contact_id, profile) VALUES ($1, $2, $3::jsonb)",
        workspace, contact_id, json.dumps({"email": email, "first_name": "Ida"}),
    )  # fmt: skip
    await db.execute(
        "INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) "
        "VALUES ($1, $2, '*', 'subscribed')",
        workspace,
        contact_id,
    )
    return contact_id


def welcome_request(workspace: str, contact_id: str) -> MessageRequested:
    now = datetime.now(UTC)
    return MessageRequested(
        event_id=f"m-{uuid.uuid4().hex[:12]}", workspace_id=workspace, contact_id=contact_id, occurred_at=now,
        received_at=now, channel="email", template_id="welcome-hello", flow_id="welcome", flow_version=1, step_id="s1",
    )  # fmt: skip
