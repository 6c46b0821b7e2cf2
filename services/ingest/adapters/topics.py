"""The subscription topics a workspace offers (created by name, or when first subscribed to), and the look-up a
subscription change needs first."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from shared.consent.channels import is_channel_scope

_LIST = "SELECT topic, name, description, promise FROM subscription_topics WHERE workspace_id = $1 ORDER BY topic"
_PUT = """
INSERT INTO subscription_topics (workspace_id, topic, name, description, promise) VALUES ($1, $2, $3, $4, $5::jsonb)
ON CONFLICT (workspace_id, topic) DO UPDATE
SET name = EXCLUDED.name, description = EXCLUDED.description, promise = EXCLUDED.promise
"""
_FLOW_POLICY = "SELECT settings -> 'flow_policy' FROM workspaces WHERE id = $1"
# A topic first named by a sign-up or a subscription change is offered from then on, under its id as its name
# (PUT /v1/topics/{topic} names it properly); in key order, so concurrent groups never wait on each other in a cycle.
_OFFER = """
INSERT INTO subscription_topics (workspace_id, topic, name)
SELECT DISTINCT workspace_id, topic, topic FROM unnest($1::text[], $2::text[]) AS named(workspace_id, topic)
 WHERE topic <> '*' AND topic NOT LIKE 'channel:%' ORDER BY workspace_id, topic
ON CONFLICT (workspace_id, topic) DO NOTHING
"""
_PUT_NEW = """
INSERT INTO subscription_topics (workspace_id, topic, name) VALUES ($1, $2, $3)
ON CONFLICT (workspace_id, topic) DO NOTHING
"""
_CONTACT_EXISTS = "SELECT 1 FROM contacts WHERE workspace_id = $1 AND contact_id = $2"


async def list_topics(pool: asyncpg.Pool, workspace_id: str) -> list[dict[str, Any]]:
    rows = [dict(row) for row in await pool.fetch(_LIST, workspace_id)]
    return [{**row, "promise": orjson.loads(row["promise"]) if row["promise"] else None} for row in rows]


async def put_topic(
    pool: asyncpg.Pool,
    workspace_id: str,
    topic: str,
    name: str,
    description: str | None,
    promise: dict[str, Any] | None = None,
) -> None:
    """Create the topic, or rename it and change its description and promise."""
    kept = orjson.dumps(promise).decode() if promise else None
    await pool.execute(_PUT, workspace_id, topic, name, description, kept)


async def flow_policy(pool: asyncpg.Pool, workspace_id: str) -> dict[str, Any] | None:
    """The workspace's stored sending policy (caps, quiet hours…), or None when it runs the default."""
    raw = await pool.fetchval(_FLOW_POLICY, workspace_id)
    return orjson.loads(raw) if raw else None


async def offer_topics(connection: asyncpg.Connection, named: list[tuple[str, str]]) -> None:
    """Create the (workspace, topic)s not offered yet; `*` (marketing as a whole) and channels are no topics."""
    if any(topic != "*" and not is_channel_scope(topic) for _, topic in named):
        await connection.execute(_OFFER, [w for w, _ in named], [t for _, t in named])


async def offer_named_topics(connection: asyncpg.Connection, workspace_id: str, names: dict[str, str]) -> None:
    """Create these topics with their names where the workspace does not offer them yet (names given stay)."""
    await connection.executemany(_PUT_NEW, [(workspace_id, topic, name) for topic, name in names.items()])


async def contact_exists(pool: asyncpg.Pool, workspace_id: str, contact_id: str) -> bool:
    return bool(await pool.fetchval(_CONTACT_EXISTS, workspace_id, contact_id))
