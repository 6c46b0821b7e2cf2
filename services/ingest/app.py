"""The ingest service: the HTTP API shops post events and contacts to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from services.ingest.api import contact_lookup, contacts, events, topics
from services.ingest.api.bodies import JsonBodies
from services.ingest.api.errors import install_error_handlers
from services.ingest.api.fastpath import BATCH_ROUTE, ROUTE, EventFastPath
from services.ingest.usecases.intake import Intake
from services.ingest.workers.erasure_watch import ErasureWatch
from shared.http import BodyLimit
from shared.service import Resources, create_service_app
from shared.settings import IngestSettings
from shared.workspaces import ApiKeys

DESCRIPTION = """
Shops post what their customers do. Every accepted event is on the broker before
the answer (202) leaves; when the broker is away the answer is 503 with `Retry-After`.
Authenticate with a workspace API key: `Authorization: Bearer dl_…`.

Bodies are JSON (`Content-Type: application/json`), optionally `Content-Encoding: gzip`. Every
refusal names what to fix: `{"error": …, "errors": [{"path": "$.contact.email", "reason": …}]}`.
Text fields refuse NUL and other control characters; ids match `^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$`.
"""


class IngestApp(FastAPI):
    """The service's FastAPI app, with event posts answered in front of it.

    uvicorn calls this first, so the shops' busiest calls skip FastAPI's own per-request work and
    its middleware stack; every other request (and a batch its route must explain) goes on as usual.
    """

    events_front: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in (ROUTE, BATCH_ROUTE):
            await self.events_front(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request as FastAPI handles it: routes, dependencies, middleware."""
        await super().__call__(scope, receive, send)


def create_app(settings: IngestSettings | None = None) -> IngestApp:
    settings = settings or IngestSettings()

    async def start_intake(resources: Resources) -> Callable[[], Awaitable[None]] | None:
        app.state.api_keys = ApiKeys(resources.pool)
        app.state.intake = intake = Intake(resources.pool, resources.producer, settings)
        app.state.erasure_watch = watch = ErasureWatch(resources.pool, intake.forget)
        resources.supervisor.start("erasure-watch", watch.run, finish=watch.stop)
        return None

    app = create_service_app(
        "ingest",
        settings,
        title="Dripline ingest API",
        description=DESCRIPTION,
        on_start=[start_intake],
        producer_timeout_seconds=settings.ingest_broker_timeout_seconds,
        app_class=IngestApp,
    )
    install_error_handlers(app)
    app.include_router(events.router)
    app.include_router(contacts.router)
    app.include_router(contact_lookup.router)
    app.include_router(topics.router)
    limit = settings.ingest_max_body_bytes
    app.add_middleware(JsonBodies, max_bytes=limit)  # inside BodyLimit: it counts the bytes sent
    app.add_middleware(BodyLimit, max_bytes=limit)
    fast_path = EventFastPath(app.framework, state=lambda: app.state)
    app.events_front = BodyLimit(JsonBodies(fast_path, limit, check_utf8=False), max_bytes=limit)
    return app
