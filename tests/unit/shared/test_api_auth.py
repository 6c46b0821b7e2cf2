"""Keys and scopes at the door: each route names its scope, a key without it gets 403 naming it, a key over
its rate 429 with Retry-After; admin may do everything."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request

from shared.api_auth import ContactsErase, EventsWrite, require_also
from shared.rate_limits import LocalBucketStore, RateLimit
from shared.workspaces import ApiKeys, KeyCheck, checked_scopes

KEYS = {
    "events": KeyCheck("shop-a", False, "k1", frozenset({"events:write"})),
    "admin": KeyCheck("shop-a", False, "k2", frozenset({"admin"})),
    "revoked": KeyCheck("shop-a", True, "k3", frozenset({"admin"})),
    "slow": KeyCheck("shop-a", False, "k4", frozenset({"events:write"}), RateLimit(per_second=1.0, burst=2)),
}


class FakeKeys(ApiKeys):
    def __init__(self) -> None:
        super().__init__(pool=None, buckets=LocalBucketStore())

    async def check(self, key: str) -> KeyCheck:
        return KEYS.get(key, KeyCheck(None, False))


def _app() -> FastAPI:
    app = FastAPI()
    app.state.api_keys = FakeKeys()

    @app.post("/events")
    async def post_event(workspace_id: EventsWrite) -> str:
        return workspace_id

    @app.delete("/contacts/{contact_id}")
    async def erase(request: Request, contact_id: str, workspace_id: ContactsErase) -> str:
        require_also(request, "contacts:read")
        return workspace_id

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test") as client:
        yield client


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_without_the_scope_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    assert (await client.post("/events", headers=_as("events"))).json() == "shop-a"
    refused = await client.delete("/contacts/c1", headers=_as("events"))
    assert refused.status_code == 403
    assert refused.json() == {"detail": "this API key lacks the scope contacts:erase"}


async def test_admin_may_do_everything(client: httpx.AsyncClient) -> None:
    assert (await client.post("/events", headers={"X-Api-Key": "admin"})).status_code == 200
    assert (await client.delete("/contacts/c1", headers=_as("admin"))).status_code == 200


async def test_missing_unknown_and_revoked_keys(client: httpx.AsyncClient) -> None:
    missing = await client.post("/events")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert (await client.post("/events", headers=_as("nobody"))).json() == {"detail": "unknown API key"}
    assert (await client.post("/events", headers=_as("revoked"))).status_code == 403


async def test_a_key_over_its_rate_gets_429_with_retry_after(client: httpx.AsyncClient) -> None:
    answers = [await client.post("/events", headers=_as("slow")) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].headers["retry-after"] == "1"
    assert answers[2].json() == {"detail": "too many requests with this API key"}
    assert (await client.post("/events", headers=_as("events"))).status_code == 200  # other keys go on


def test_the_openapi_document_names_each_routes_scope() -> None:
    paths = _app().openapi()["paths"]
    assert paths["/events"]["post"]["security"] == [
        {"HTTPBearer": ["events:write"]},
        {"APIKeyHeader": ["events:write"]},
    ]
    assert paths["/contacts/{contact_id}"]["delete"]["security"][0] == {"HTTPBearer": ["contacts:erase"]}


def test_scopes_are_checked_and_kept_in_their_documented_order() -> None:
    assert checked_scopes(["flows:write", "events:write", "flows:write"]) == ("events:write", "flows:write")
    with pytest.raises(ValueError, match="unknown scope 'flows:delete'"):
        checked_scopes(["flows:delete"])
    with pytest.raises(ValueError, match="at least one"):
        checked_scopes([])
