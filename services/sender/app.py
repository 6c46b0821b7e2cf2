"""The sender service: renders and delivers messages, and serves the template API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from services.sender.api.console_peer import router as console_peer_router
from services.sender.api.default_locale import router as default_locale_router
from services.sender.api.sending_domain import router as sending_domain_router
from services.sender.api.templates import router as templates_router
from services.sender.api.test_recipients import router as test_recipients_router
from services.sender.workers.link_watch import start_link_watch
from services.sender.workers.runtime import build_runtime, start_delivery
from shared.service import Resources, create_service_app
from shared.settings import SenderSettings

DESCRIPTION = """
Delivers what flows request (email over SMTP, text messages, webhooks), exactly once per
message id except for one documented crash window, and reports each outcome on
`messages.status`. Templates are published and previewed here.
Authenticate with a workspace API key: `Authorization: Bearer dl_…`.
"""


def create_app(settings: SenderSettings | None = None, *, deliver: bool = True) -> FastAPI:
    """`deliver=False` serves only the template API (no consumer, no retries): for tools and previews."""
    settings = settings or SenderSettings()

    async def start(resources: Resources) -> Callable[[], Awaitable[None]] | None:
        runtime = build_runtime(settings, resources)
        app.state.sender = runtime
        if deliver:
            return await start_delivery(runtime, resources)
        return runtime.close

    async def watch_links(resources: Resources) -> Callable[[], Awaitable[None]] | None:
        if not deliver:
            return None
        runtime = app.state.sender
        return start_link_watch(runtime.templates, runtime.composer, resources.producer, settings, resources.supervisor)

    app = create_service_app(
        "sender", settings, title="Dripline sender", description=DESCRIPTION, on_start=[start, watch_links]
    )
    app.include_router(templates_router)
    app.include_router(test_recipients_router)
    app.include_router(sending_domain_router)
    app.include_router(default_locale_router)
    app.include_router(console_peer_router)
    return app
