"""Every HTTP route of the four services, with the scope it needs, read from the apps themselves.

Routes with an API key name their scope on the OpenAPI security requirement (`shared/api_auth.py`);
the few that are not in the OpenAPI document are listed here by hand, so a route nobody thought about
fails the tests that walk this list instead of slipping through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from services.ingest.app import create_app as create_ingest
from services.scheduler.app import create_app as create_scheduler
from services.sender.app import create_app as create_sender
from services.tracker.app import create_app as create_tracker
from shared.settings import IngestSettings, SchedulerSettings, SenderSettings, TrackerSettings

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "ingest": lambda: create_ingest(IngestSettings()),
    "scheduler": lambda: create_scheduler(SchedulerSettings()),
    "sender": lambda: create_sender(SenderSettings()),
    "tracker": lambda: create_tracker(TrackerSettings()),
}
# The console's pages take a console user's session, never an API key: the role each needs (None: no
# session, the sign-in page and the stylesheet). tests/integration/console walks every one of them.
CONSOLE: dict[tuple[str, str], str | None] = {
    ("GET", "/console"): None,  # a redirect to the flows
    ("GET", "/console/console.css"): None,
    ("GET", "/console/login"): None,
    ("POST", "/console/login"): None,
    ("POST", "/console/logout"): "viewer",
    ("POST", "/console/workspace"): "viewer",
    ("GET", "/console/flows"): "viewer",
    ("GET", "/console/flows/{flow_id}"): "viewer",
    ("GET", "/console/flows/{flow_id}/versions/{version}"): "viewer",
    ("GET", "/console/flows/{flow_id}/simulation"): "viewer",
    ("POST", "/console/flows/{flow_id}/simulation"): "viewer",
    ("GET", "/console/flows/{flow_id}/{action}"): "editor",
    ("POST", "/console/flows/{flow_id}/{action}"): "editor",
    ("GET", "/console/people"): "viewer",
    ("GET", "/console/people/{contact_id}"): "viewer",
    ("GET", "/console/people/{contact_id}/messages/{message_id}"): "viewer",
    ("GET", "/console/people/{contact_id}/messages/{message_id}/frame.html"): "viewer",
    ("GET", "/console/people/{contact_id}/{right}"): "admin",
    ("POST", "/console/people/{contact_id}/export"): "admin",
    ("POST", "/console/people/{contact_id}/erase"): "admin",
    ("GET", "/console/segments"): "viewer",
    ("GET", "/console/segments/new"): "viewer",  # the form: a viewer may preview a count, not save
    ("GET", "/console/segments/{segment_id}"): "viewer",
    ("POST", "/console/segments/preview"): "viewer",
    ("POST", "/console/segments"): "editor",
    ("GET", "/console/templates"): "viewer",
    ("GET", "/console/templates/{template_id}"): "viewer",
    ("GET", "/console/templates/{template_id}/preview.html"): "viewer",
    ("POST", "/console/templates/{template_id}/test-send"): "editor",
    ("GET", "/console/broadcasts"): "viewer",
    ("GET", "/console/broadcasts/new"): "editor",
    ("POST", "/console/broadcasts/new"): "editor",
    ("GET", "/console/broadcasts/{broadcast_id}"): "viewer",
    ("GET", "/console/broadcasts/{broadcast_id}/{action}"): "editor",
    ("POST", "/console/broadcasts/{broadcast_id}/{action}"): "editor",
    ("GET", "/console/policy"): "viewer",
    ("POST", "/console/policy"): "editor",
    ("POST", "/console/policy/test-recipients"): "admin",
    ("GET", "/console/audit"): "viewer",
    ("GET", "/console/users"): "admin",
    ("POST", "/console/users"): "admin",
    ("POST", "/console/users/{user_id}/role"): "admin",
    ("POST", "/console/users/{user_id}/disable"): "admin",
}
# No workspace key: probes, metrics and API docs, the tracker's pages (their signed token is the
# credential), the dashboard's sign-in form, and the console.
WORKSPACE_FREE = {
    *CONSOLE,
    *(("GET", path) for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")),
    *(("GET", path) for path in ("/healthz", "/readyz", "/metrics")),
    *((method, f"/{kind}/{{token}}") for kind in "upf" for method in ("GET", "POST")),
    ("GET", "/dashboard/login"),
    ("POST", "/dashboard/login"),
    # The sender's answers to the console: a signed console assertion instead of a key (shared/console_peer.py).
    ("GET", "/internal/console/templates"),
    ("POST", "/internal/console/templates/{template_id}/preview"),
    ("POST", "/internal/console/templates/{template_id}/test-send"),
}
# Routes left out of the OpenAPI document that check a key themselves.
HIDDEN_SCOPES = {
    ("GET", "/dashboard"): "reports:read",
    ("GET", "/dashboard/flows/{flow_id}"): "reports:read",
    ("GET", "/dashboard/broadcasts"): "reports:read",
    ("GET", "/dashboard/broadcasts/{broadcast_id}"): "reports:read",
}


@dataclass(frozen=True)
class Endpoint:
    service: str
    method: str
    path: str
    scope: str | None  # None: workspace-free

    @property
    def name(self) -> str:
        return f"{self.service} {self.method} {self.path}"


def endpoints(service: str, app: FastAPI) -> list[Endpoint]:
    """Every (method, path) the app answers; AssertionError for one that is neither scoped nor listed above."""
    document = app.openapi()
    found: list[Endpoint] = []
    for route in iter_route_contexts(app.routes):
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            requirements = operation.get("security", []) if operation else []
            scopes = {scope for requirement in requirements for names in requirement.values() for scope in names}
            key = (method, route.path_format)
            if key in HIDDEN_SCOPES:
                scopes.add(HIDDEN_SCOPES[key])
            assert len(scopes) <= 1, f"{service} {method} {route.path_format} names several scopes: {scopes}"
            scope = next(iter(scopes), None)
            assert scope is not None or key in WORKSPACE_FREE, (
                f"{service} {method} {route.path_format} names no scope and is not listed as workspace-free"
            )
            found.append(Endpoint(service, method, route.path_format, scope))
    return found
