"""A fuzz of the ingest OpenAPI against the running service: no answer is a 5xx, and it keeps serving after."""

from __future__ import annotations

import time
import uuid

import asyncpg
import httpx
import pytest

from shared.workspaces import create_key, ensure_workspace
from tests.support.fuzz import fuzz_openapi
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


async def test_fuzzing_the_ingest_api_gets_no_server_error(ingest_url: str, stack: RealStack) -> None:
    # A workspace of its own: erasures and topics the fuzz makes touch nobody else's data.
    connection = await asyncpg.connect(stack.database_url)
    try:
        await ensure_workspace(connection, "fuzzed", "Fuzzed shop")
        key = await create_key(connection, "fuzzed", "fuzz")
    finally:
        await connection.close()
    auth = {"Authorization": f"Bearer {key}"}

    started = time.monotonic()
    report = await fuzz_openapi(ingest_url, auth, examples=20)
    elapsed = time.monotonic() - started

    assert not report.server_errors, "\n".join(report.server_errors)
    assert report.requests > 200, report.statuses
    assert any(200 <= status < 300 for status in report.statuses), report.statuses
    assert any(400 <= status < 500 for status in report.statuses), report.statuses
    assert elapsed < 60, f"the fuzz took {elapsed:.0f} s"

    async with httpx.AsyncClient(base_url=ingest_url, headers=auth) as shop:
        assert (await shop.get("/readyz")).status_code == 200
        body = {"type": "signup", "contact": {"email": f"fuzz-{uuid.uuid4().hex[:8]}@example.com"}}
        assert (await shop.post("/v1/events", json=body)).status_code == 202
