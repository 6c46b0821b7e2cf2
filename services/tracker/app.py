"""The tracker service: opens, clicks and unsubscribes, back onto the bus.

Opens and clicks are answered from memory and sent to the broker in batches by a
background task; unsubscribes and bounces write their suppression row before answering.
On shutdown the server stops taking requests first, then the buffer is flushed, and
only then does the producer close.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from services.tracker.adapters.buffer import EngagementBuffer
from services.tracker.adapters.consent import ConsentStore
from services.tracker.api.bounces import bounce_router
from services.tracker.api.consent import consent_router
from services.tracker.api.links import LinkHits
from services.tracker.bounce_intake import BounceIntake
from services.tracker.consent import Consent
from services.tracker.hits import HitJudge
from services.tracker.keys import key_ring
from shared.http import BodyLimit
from shared.service import Resources, create_service_app
from shared.settings import TrackerSettings

DESCRIPTION = """
Public links in messages (`/o/…` open pixel, `/c/…` click redirect, `/u/…` unsubscribe,
`/p/…` preferences) and bounce intake for workspaces (`/v1/bounces`, API key required).
"""


class TrackerApp(FastAPI):
    """The service's FastAPI app, with opens and clicks answered in front of it.

    uvicorn calls this first, so a hit skips FastAPI's own per-request work and the whole
    middleware stack (a third of the CPU a hit cost); every other request goes on as usual.
    """

    link_hits: LinkHits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and await self.link_hits(scope, send):
            return
        await super().__call__(scope, receive, send)


def create_app(settings: TrackerSettings | None = None) -> TrackerApp:
    settings = settings or TrackerSettings()
    keys = key_ring(settings.link_signing_keys)
    buffer = EngagementBuffer(
        interval_s=settings.tracker_flush_interval_ms / 1000,
        batch=settings.tracker_flush_batch,
        limit=settings.tracker_buffer_limit,
    )

    async def start_tracking(resources: Resources) -> Callable[[], Awaitable[None]] | None:
        store = ConsentStore(resources.pool)
        app.state.consent = Consent(store, resources.producer, buffer)
        app.state.bounce_intake = BounceIntake(store, resources.producer)
        buffer.start(resources.producer)

        async def flush_and_stop() -> None:
            await buffer.stop(settings.shutdown_grace_seconds)

        return flush_and_stop

    app = create_service_app(
        "tracker",
        settings,
        title="Dripline tracker",
        description=DESCRIPTION,
        on_start=[start_tracking],
        app_class=TrackerApp,
    )
    app.link_hits = LinkHits(keys=keys, judge=HitJudge(), buffer=buffer)
    app.state.engagements = buffer
    app.include_router(consent_router(keys, settings.tracker_public_url))
    app.include_router(bounce_router())
    app.add_middleware(BodyLimit, max_bytes=settings.tracker_max_body_bytes)
    return app
