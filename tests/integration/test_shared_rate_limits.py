"""A key's rate limit holds for every replica together: two ingest apps on one database admit no more
than the key's bucket gives, and answer 429 with Retry-After beyond it."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
import pytest

from services.ingest.app import create_app as create_ingest
from shared.rate_limits import RateLimit
from shared.settings import IngestSettings
from shared.workspaces import create_key, ensure_workspace
from tests.support.servers import serving
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack

TRACK = {"type": "track", "name": "viewed", "contact": {"external_id": "limited-1"}}
LIMIT = RateLimit(per_second=1.0, burst=20)


async def _limited_key(stack: RealStack) -> str:
    connection = await asyncpg.connect(stack.database_url)
    try:
        await ensure_workspace(connection, "shop-limited", "Shop with a limit")
        name = f"limited-{uuid.uuid4().hex[:6]}"
        return await create_key(connection, "shop-limited", name, scopes=["events:write"], limit=LIMIT)
    finally:
        await connection.close()


async def test_two_replicas_together_admit_no_more_than_the_key_limit(stack: RealStack) -> None:
    key = await _limited_key(stack)
    headers = {"X-Api-Key": key}
    async with (
        serving(create_ingest(stack.settings(IngestSettings))) as first_url,
        serving(create_ingest(stack.settings(IngestSettings))) as second_url,
        httpx.AsyncClient(base_url=first_url, headers=headers, timeout=30) as first,
        httpx.AsyncClient(base_url=second_url, headers=headers, timeout=30) as second,
    ):
        started = time.monotonic()
        answers = await asyncio.gather(*(client.post("/v1/events", json=TRACK) for client in [first, second] * 30))
        elapsed = time.monotonic() - started

    statuses = [answer.status_code for answer in answers]
    admitted = statuses.count(202)
    # The burst, and what the bucket refilled while the requests ran; each replica alone would have allowed 20.
    assert LIMIT.burst <= admitted <= LIMIT.burst + int(elapsed * LIMIT.per_second) + 1, (admitted, elapsed)
    assert set(statuses) == {202, 429}
    assert 202 in statuses[0::2] and 202 in statuses[1::2]  # both replicas admitted some
    refused = [answer for answer in answers if answer.status_code == 429]
    assert all(int(answer.headers["retry-after"]) >= 1 for answer in refused)
    assert refused[0].json()["detail"] == "too many requests with this API key"
