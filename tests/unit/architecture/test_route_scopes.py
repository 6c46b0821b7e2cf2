"""Every route with a workspace key names the scope it needs, and the scopes are the documented ones."""

from __future__ import annotations

import pytest

from shared.workspaces import SCOPES
from tests.support.routes import SERVICES, endpoints

# The table of docs/security.md, route by route: a change here is a change to what keys may do.
EXPECTED = {
    "ingest POST /v1/events": "events:write",
    "ingest POST /v1/events/batch": "events:write",
    "ingest POST /v1/contacts": "events:write",
    "ingest GET /v1/contacts/{contact_id}": "contacts:read",
    "ingest GET /v1/contacts": "contacts:read",
    "ingest GET /v1/contacts/{contact_id}/export": "contacts:read",
    "ingest DELETE /v1/contacts/{contact_id}": "contacts:erase",
    "ingest GET /v1/topics": "contacts:read",
    "ingest PUT /v1/topics/{topic}": "contacts:write",
    "ingest PUT /v1/contacts/{contact_id}/subscriptions": "contacts:write",
    "scheduler POST /v1/flows": "flows:write",
    "scheduler GET /v1/flows": "flows:read",
    "scheduler GET /v1/flows/{flow_id}": "flows:read",
    "scheduler POST /v1/flows/{flow_id}/pause": "flows:write",
    "scheduler POST /v1/flows/{flow_id}/resume": "flows:write",
    "scheduler POST /v1/flows/{flow_id}/migrate": "flows:write",
    "scheduler POST /v1/flows/{flow_id}/simulate": "flows:read",
    "scheduler POST /v1/enrollments": "contacts:write",
    "scheduler GET /v1/contacts/{contact_id}/enrollments": "contacts:read",
    "scheduler GET /v1/policy": "flows:read",
    "scheduler PUT /v1/policy": "flows:write",
    "scheduler POST /v1/segments": "flows:write",
    "scheduler POST /v1/segments/preview": "flows:read",
    "scheduler GET /v1/segments": "flows:read",
    "scheduler GET /v1/segments/{segment_id}": "flows:read",
    "scheduler DELETE /v1/segments/{segment_id}": "flows:write",
    "scheduler POST /v1/broadcasts": "flows:write",
    "scheduler GET /v1/broadcasts": "flows:read",
    "scheduler GET /v1/broadcasts/{broadcast_id}": "flows:read",
    "scheduler POST /v1/broadcasts/{broadcast_id}/schedule": "flows:write",
    "scheduler POST /v1/broadcasts/{broadcast_id}/pause": "flows:write",
    "scheduler POST /v1/broadcasts/{broadcast_id}/resume": "flows:write",
    "scheduler POST /v1/broadcasts/{broadcast_id}/cancel": "flows:write",
    "scheduler GET /v1/reports/flows": "reports:read",
    "scheduler GET /v1/reports/flows/{flow_id}": "reports:read",
    "scheduler GET /v1/reports/broadcasts/{broadcast_id}": "reports:read",
    "scheduler GET /v1/reports/flows/{flow_id}/ab": "reports:read",
    "scheduler GET /v1/reports/flows/{flow_id}/lifecycle": "reports:read",
    "scheduler GET /v1/reports/cohorts": "reports:read",
    "scheduler GET /v1/reports/consent": "reports:read",
    "scheduler GET /v1/reports/settings": "reports:read",
    "scheduler PUT /v1/reports/settings": "flows:write",
    "scheduler GET /dashboard": "reports:read",
    "scheduler GET /dashboard/flows/{flow_id}": "reports:read",
    "scheduler GET /dashboard/broadcasts": "reports:read",
    "scheduler GET /dashboard/broadcasts/{broadcast_id}": "reports:read",
    "sender GET /v1/templates": "templates:read",
    "sender POST /v1/templates": "templates:write",
    "sender GET /v1/templates/{template_id}": "templates:read",
    "sender POST /v1/templates/{template_id}/preview": "templates:read",
    "sender POST /v1/templates/{template_id}/test-send": "templates:write",
    "sender GET /v1/test-recipients": "admin",
    "sender PUT /v1/test-recipients": "admin",
    "sender GET /v1/default-locale": "admin",
    "sender PUT /v1/default-locale": "admin",
    "sender GET /v1/sending-domain": "admin",
    "sender PUT /v1/sending-domain": "admin",
    "sender POST /v1/sending-domain/verify": "admin",
    "tracker POST /v1/bounces": "contacts:write",
    "tracker POST /v1/bounces/dsn": "contacts:write",
}


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_names_its_scope_or_is_listed_as_workspace_free(service: str) -> None:
    found = endpoints(service, SERVICES[service]())
    scoped = {endpoint.name: endpoint.scope for endpoint in found if endpoint.scope is not None}
    assert scoped == {name: scope for name, scope in EXPECTED.items() if name.startswith(f"{service} ")}
    assert set(scoped.values()) <= set(SCOPES)
