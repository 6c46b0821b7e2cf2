"""The ingest service: the HTTP API shops post events and contacts to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from services.ingest.api import contacts, events, topics
from services.ingest.api.errors import install_error_handlers
from services.ingest.api.fastpath import EventFastPath
from services.ingest.intake import Intake
from shared.http import BodyLimit
from shared.service import Resources, create_service_app
from shared.settings import IngestSettings
from shared.workspaces import ApiKeys

DESCRIPTION = """
Shops post what their customers do. Every accepted event is on the broker before
the answer (202) leaves; when the broker is away the answer is 503 with `Retry-After`.
Authenticate with a workspace API key: `Authorization: Bearer dl_…`.
"""


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()

    async def start_intake(resources: Resources) -> Callable[[], Awaitable[None]] | None:
        app.state.api_keys = ApiKeys(resources.pool)
        app.state.intake = Intake(resources.pool, resources.producer, settings)
        return None

    app = create_service_app(
        "ingest",
        settings,
        title="Dripline ingest API",
        description=DESCRIPTION,
        on_start=[start_intake],
        producer_timeout_seconds=settings.ingest_broker_timeout_seconds,
    )
    install_error_handlers(app)
    app.include_router(events.router)
    app.include_router(contacts.router)
    app.include_router(topics.router)
    app.add_middleware(EventFastPath, state=lambda: app.state)
    app.add_middleware(BodyLimit, max_bytes=settings.ingest_max_body_bytes)
    return app
