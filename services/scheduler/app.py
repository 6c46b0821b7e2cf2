"""The scheduler service: publishes flows and moves each contact through them, durably.

Intake (a consumer of shop events, profiles, engagement and bounces), a timer loop, an outbox relay
and the analytics fold run inside the process, each where its settings say (`Duties`); the HTTP API
publishes and operates flows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from services.scheduler.analytics.domain.broadcast_tests import pick_winner
from services.scheduler.analytics.workers.runtime import analytics_hook
from services.scheduler.api import broadcasts, enrollments, flows, segments
from services.scheduler.api.broadcast_reports import router as broadcast_reports_router
from services.scheduler.api.console.routes import router as console_router
from services.scheduler.api.dashboard import router as dashboard_router
from services.scheduler.api.dashboard_broadcasts import router as dashboard_broadcasts_router
from services.scheduler.api.reports import router as reports_router
from services.scheduler.unit_of_work.unit import Clock, system_clock
from services.scheduler.workers.runtime import build_scheduler
from shared.service import Resources, create_service_app
from shared.settings import SchedulerSettings

DESCRIPTION = """
Publish flows (YAML) and operate them: pause, resume, migrate in-flight contacts, simulate.
Authenticate with a workspace API key: `Authorization: Bearer dl_…`.
"""


def create_app(settings: SchedulerSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or SchedulerSettings()

    async def start_scheduler(resources: Resources) -> Callable[[], Awaitable[None]]:
        scheduler = build_scheduler(settings, resources, clock, pick_winner)
        app.state.scheduler = scheduler
        scheduler.start(resources)
        return scheduler.stop

    app = create_service_app(
        "scheduler",
        settings,
        title="Dripline scheduler",
        description=DESCRIPTION,
        on_start=[start_scheduler, analytics_hook(settings)],
    )
    app.include_router(flows.router)
    app.include_router(enrollments.router)
    app.include_router(reports_router)
    app.include_router(dashboard_router)
    app.include_router(dashboard_broadcasts_router)
    app.include_router(segments.router)
    app.include_router(broadcasts.router)
    app.include_router(broadcast_reports_router)
    app.include_router(console_router)
    return app
