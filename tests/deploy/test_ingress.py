"""The Ingresses route exactly the public paths: every shop-facing route of ingest, the tracker's links and
bounce intake, and nothing else (no /metrics, probes or API docs; no scheduler or sender path)."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from services.ingest.app import create_app as create_ingest
from services.tracker.api.consent import LinkLifetimes, consent_router
from services.tracker.app import create_app as create_tracker
from shared.settings import IngestSettings, TrackerSettings
from shared.tokens import key_ring_from_setting
from tests.deploy.conftest import OVERLAYS, Manifest, by_kind

OPERATIONS = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
# Answered in front of FastAPI (services/tracker/api/links.py), so not among the app's routes.
TRACKER_FRONT = ("/o/{token}", "/c/{token}")
TRACKER = TrackerSettings(_env_file=None)  # type: ignore[call-arg]
NEVER_PUBLIC = (*OPERATIONS, "/", "/v1/flows", "/v1/templates", "/v1/segments", "/dashboard", "/order", "/v1/eventsx")


def documented(app: FastAPI) -> list[str]:
    return [path for path in app.openapi()["paths"] if path not in OPERATIONS]


def tracker_pages() -> list[str]:
    """The unsubscribe, preferences and confirmation pages, which the OpenAPI leaves out."""
    router = consent_router(key_ring_from_setting(TRACKER.link_signing_keys), "", LinkLifetimes.of(TRACKER))
    return [route.path for route in router.routes if isinstance(route, APIRoute)]


PUBLIC = {
    "dripline-ingest": documented(create_ingest(IngestSettings(_env_file=None))),  # type: ignore[call-arg]
    "dripline-tracker": [*documented(create_tracker(TRACKER)), *tracker_pages(), *TRACKER_FRONT],
}


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "sample", template)


def prefix_matches(prefix: str, path: str) -> bool:
    """Kubernetes `Prefix`: element by element, so /o matches /o and /o/x but not /order."""
    wanted = [part for part in prefix.split("/") if part]
    return [part for part in path.split("/") if part][: len(wanted)] == wanted


def routed_to(ingress: Manifest, path: str) -> list[str]:
    return [
        rule_path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for rule_path in rule["http"]["paths"]
        if prefix_matches(rule_path["path"], path)
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_public_route_reaches_its_service_through_its_ingress(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    ingresses = by_kind(rendered[overlay], "Ingress")
    assert sorted(ingresses) == sorted(PUBLIC)
    for name, paths in PUBLIC.items():
        assert paths, name
        for path in paths:
            assert routed_to(ingresses[name], concrete(path)) == [name], f"{name} does not route {path}"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("path", NEVER_PUBLIC)
def test_operations_and_internal_paths_are_not_routed(
    rendered: dict[str, list[Manifest]], overlay: str, path: str
) -> None:
    for name, ingress in by_kind(rendered[overlay], "Ingress").items():
        assert routed_to(ingress, path) == [], f"{name} routes {path}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_paths_match_by_prefix_only(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    """`ImplementationSpecific` would leave matching (regexes, trailing parts) to the controller."""
    for ingress in by_kind(rendered[overlay], "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["pathType"] == "Prefix" and path["path"] != "/"
