"""The shared service shell: probes and metrics, an app class with a pure-ASGI front, telemetry off."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY
from starlette.types import Receive, Scope, Send

from shared.service import create_service_app
from shared.settings import CommonSettings

SETTINGS = CommonSettings(database_url="postgresql://dripline@db.invalid/dripline")


class FrontedApp(FastAPI):
    """Answers ``/front`` itself; every other request reaches FastAPI."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/front":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await super().__call__(scope, receive, send)


def requests_counted(service: str, route: str) -> float:
    labels = {"service": service, "route": route, "status": "200"}
    return REGISTRY.get_sample_value("dripline_http_requests_total", labels) or 0.0


async def get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.example") as client:
        return await client.get(path)


async def test_app_class_answers_in_front_and_passes_the_rest_to_fastapi() -> None:
    app = create_service_app("demo", SETTINGS, title="Demo", app_class=FrontedApp)

    assert isinstance(app, FrontedApp)
    assert (await get(app, "/front")).status_code == 204
    assert requests_counted("demo", "unmatched") == 0 == requests_counted("demo", "/front")
    probe = await get(app, "/healthz")
    assert probe.status_code == 200 and probe.json() == {"status": "ok", "service": "demo"}
    assert requests_counted("demo", "/healthz") == 1


async def test_plain_service_app_keeps_its_probes_and_metrics() -> None:
    app = create_service_app("plain", SETTINGS, title="Plain")

    assert type(app) is FastAPI
    probe = await get(app, "/healthz")
    assert probe.status_code == 200 and probe.json()["service"] == "plain"
    assert requests_counted("plain", "/healthz") == 1
    assert "dripline_http_requests_total" in (await get(app, "/metrics")).text


def test_fastapi_telemetry_is_off_so_requests_skip_its_provider_lookups() -> None:
    app = create_service_app("quiet", SETTINGS, title="Quiet")

    assert not app._native_telemetry.enabled()
