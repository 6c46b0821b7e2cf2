"""Runs one service's app under uvicorn with graceful shutdown (SIGTERM: stop intake, finish, close)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from shared.logs import configure_logging
from shared.settings import CommonSettings

S = TypeVar("S", bound=CommonSettings)


def serve(app: FastAPI, *, service: str, host: str, port: int, settings: CommonSettings) -> None:
    configure_logging(settings, service)
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )


def run_service(service: str, create_app: Callable[[S], FastAPI], settings: S) -> None:
    """`python -m services.<name>`: the app on the host and port its own settings name."""
    host = str(getattr(settings, f"{service}_host"))
    port = int(getattr(settings, f"{service}_port"))
    serve(create_app(settings), service=service, host=host, port=port, settings=settings)
