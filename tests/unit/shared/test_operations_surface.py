"""/docs, /openapi.json and /metrics: on by default, switched off by settings, or kept to the operations port."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from shared.service import create_service_app
from shared.settings import CommonSettings

DATABASE = "postgresql://dripline@db.invalid/dripline"
DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")


async def status(app: FastAPI, path: str, port: int = 8001) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://svc.example:{port}") as client:
        return (await client.get(path)).status_code


def app_with(**settings: object) -> FastAPI:
    return create_service_app("surface", CommonSettings(database_url=DATABASE, **settings), title="Surface")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", [*DOCS, "/metrics", "/healthz"])
async def test_by_default_docs_and_metrics_are_served_on_the_service_port(path: str) -> None:
    assert await status(app_with(), path) == 200


async def test_docs_and_metrics_can_be_switched_off() -> None:
    app = app_with(api_docs=False, metrics_endpoint=False)

    for path in (*DOCS, "/metrics"):
        assert await status(app, path) == 404, path
    assert await status(app, "/healthz") == 200


async def test_the_operations_port_alone_serves_docs_and_metrics() -> None:
    app = app_with(operations_port=9100)

    for path in (*DOCS, "/metrics"):
        assert await status(app, path, port=8001) == 404, path
        assert await status(app, path, port=9100) == 200, path
    assert await status(app, "/healthz", port=8001) == 200  # probes stay where the kubelet looks
