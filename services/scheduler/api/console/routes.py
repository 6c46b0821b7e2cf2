"""Every page of the console, for the scheduler's app to include."""

from __future__ import annotations

from fastapi import APIRouter

from services.scheduler.api.console import (
    audit_pages,
    broadcast_pages,
    flow_pages,
    login,
    people_pages,
    policy_pages,
    rights_pages,
    segment_pages,
    simulation_pages,
    template_pages,
    user_pages,
)

router = APIRouter()
for pages in (
    login,
    simulation_pages,  # before the flow pages, whose /{flow_id}/{action} would take /{flow_id}/simulation
    flow_pages,
    people_pages,
    segment_pages,
    simulation_pages,
    template_pages,
    broadcast_pages,
    rights_pages,
    policy_pages,
    user_pages,
    audit_pages,
):
    router.include_router(pages.router)
