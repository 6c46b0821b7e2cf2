"""Keys on the real stack: scopes and rate limits on ingest's event fast path and its other routes, keys made
and changed with `dripline keys`, and the migration that gave keys from before scopes `admin`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from dripline.cli import app as cli
from shared.rate_limits import RateLimit
from shared.workspaces import create_key, ensure_workspace, hash_key
from tests.support.stack import RealStack, own_database

pytestmark = pytest.mark.stack

SIGNUP = {"type": "signup", "contact": {"email": "scoped@example.com"}, "consent": {"marketing": True}}
TRACK = {"type": "track", "name": "viewed", "contact": {"external_id": "scoped-1"}}


async def _key(stack: RealStack, scopes: Sequence[str], limit: RateLimit | None = None) -> str:
    connection = await asyncpg.connect(stack.database_url)
    try:
        await ensure_workspace(connection, "shop-one", "Shop one")
        return await create_key(connection, "shop-one", f"scoped-{uuid.uuid4().hex[:6]}", scopes=scopes, limit=limit)
    finally:
        await connection.close()


async def test_the_event_fast_path_and_routes_refuse_a_key_without_the_scope_naming_it(
    ingest_url: str, stack: RealStack
) -> None:
    key = await _key(stack, ["contacts:read"])
    async with httpx.AsyncClient(base_url=ingest_url, headers={"X-Api-Key": key}) as reader:
        single = await reader.post("/v1/events", json=TRACK)
        batch = await reader.post("/v1/events/batch", json={"events": [TRACK]})
        identify = await reader.post("/v1/contacts", json={"email": "scoped@example.com"})
        topics = await reader.get("/v1/topics")
    reason = "this API key lacks the scope events:write"
    for refused in (single, batch, identify):
        assert refused.status_code == 403
        assert refused.json() == {"detail": reason, "errors": [{"path": "header.authorization", "reason": reason}]}
    assert topics.status_code == 200


async def test_an_events_key_cannot_erase_or_read_a_contact(shop: httpx.AsyncClient, stack: RealStack) -> None:
    contact_id = (await shop.post("/v1/contacts", json={"email": f"{uuid.uuid4().hex[:8]}@example.com"})).json()[
        "contact_id"
    ]
    key = await _key(stack, ["events:write"])
    async with httpx.AsyncClient(base_url=str(shop.base_url), headers={"X-Api-Key": key}) as website:
        erase = await website.delete(f"/v1/contacts/{contact_id}")
        read = await website.get(f"/v1/contacts/{contact_id}")
        posted = await website.post("/v1/events", json=TRACK)
    assert (erase.status_code, erase.json()["detail"]) == (403, "this API key lacks the scope contacts:erase")
    assert (read.status_code, read.json()["detail"]) == (403, "this API key lacks the scope contacts:read")
    assert posted.status_code == 202
    assert (await shop.get(f"/v1/contacts/{contact_id}")).status_code == 200  # still there


async def test_a_key_over_its_rate_gets_429_with_retry_after_on_every_path(ingest_url: str, stack: RealStack) -> None:
    key = await _key(stack, ["admin"], RateLimit(per_second=0.5, burst=2))
    async with httpx.AsyncClient(base_url=ingest_url, headers={"Authorization": f"Bearer {key}"}) as busy:
        answers = [await busy.post("/v1/events", json=TRACK) for _ in range(3)]
        routed = await busy.get("/v1/topics")
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert answers[2].headers["retry-after"] == "2"
    assert answers[2].json()["detail"] == "too many requests with this API key"
    assert routed.status_code == 429 and routed.headers["retry-after"] in ("1", "2")


async def test_dripline_keys_create_gives_events_write_and_the_default_limit_unless_told(
    stack: RealStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    workspace = f"cli-keys-{uuid.uuid4().hex[:6]}"
    plain = await asyncio.to_thread(CliRunner().invoke, cli, ["keys", "create", "--workspace", workspace])
    wide = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["keys", "create", "--workspace", workspace, "--name", "ops", "--scope", "flows:write", "--scope", "admin"],
    )
    typo = await asyncio.to_thread(
        CliRunner().invoke, cli, ["keys", "create", "--workspace", workspace, "--scope", "flows:delete"]
    )
    assert plain.exit_code == 0, plain.output
    assert "Scopes: events:write. Rate limit: 100/s, bursts of 500." in plain.output
    assert "--scope admin for everything" in plain.output
    assert wide.exit_code == 0 and "Scopes: flows:write, admin." in wide.output
    assert typo.exit_code != 0 and "unknown scope 'flows:delete'" in typo.output

    connection = await asyncpg.connect(stack.database_url)
    try:
        rows = await connection.fetch(
            "SELECT id, name, scopes, rate_per_second, burst FROM api_keys WHERE workspace_id = $1 ORDER BY name",
            workspace,
        )
        assert [(r["name"], r["scopes"], r["rate_per_second"], r["burst"]) for r in rows] == [
            ("default", ["events:write"], 100.0, 500),
            ("ops", ["flows:write", "admin"], 100.0, 500),
        ]
        ops = rows[1]["id"]
        rotated = await asyncio.to_thread(CliRunner().invoke, cli, ["keys", "rotate", ops])
        limited = await asyncio.to_thread(
            CliRunner().invoke, cli, ["keys", "limit", ops, "--rate", "5", "--burst", "10"]
        )
        assert rotated.exit_code == 0 and f"dripline keys revoke {ops}" in rotated.output
        assert limited.exit_code == 0
        copies = await connection.fetch(
            "SELECT scopes, rate_per_second, burst FROM api_keys WHERE workspace_id = $1 AND name = 'ops' "
            "ORDER BY created_at",
            workspace,
        )
        assert [(r["scopes"], r["rate_per_second"], r["burst"]) for r in copies] == [
            (["flows:write", "admin"], 5.0, 10),
            (["flows:write", "admin"], 100.0, 500),
        ]
    finally:
        await connection.close()


async def test_keys_from_before_scopes_become_admin_and_a_key_inserted_the_old_way_gets_events_write(
    stack: RealStack,
) -> None:
    async with own_database(stack, "keys", "0001") as database:
        connection = database.connection
        await ensure_workspace(connection, "old-shop", "Old shop")
        insert = "INSERT INTO api_keys (id, workspace_id, name, key_hash) VALUES ($1, 'old-shop', $1, $2)"
        await connection.execute(insert, "before", hash_key("dl_before"))
        await database.upgrade("0011_key_scopes")
        await connection.execute(insert, "during", hash_key("dl_during"))  # an older release, mid roll-out
        rows = await connection.fetch("SELECT id, scopes, rate_per_second, burst FROM api_keys ORDER BY id")
        assert [(r["id"], r["scopes"], r["rate_per_second"], r["burst"]) for r in rows] == [
            ("before", ["admin"], 100.0, 500),
            ("during", ["events:write"], None, None),
        ]
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute("UPDATE api_keys SET rate_per_second = 0, burst = 1")

        await database.downgrade("0011_key_scopes-1")
        columns = await connection.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'api_keys'"
        )
        assert {"scopes", "rate_per_second", "burst"}.isdisjoint({c["column_name"] for c in columns})
        assert await connection.fetchval("SELECT count(*) FROM api_keys") == 2
