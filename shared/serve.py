"""Runs one service's app under uvicorn with graceful shutdown (SIGTERM: stop intake, finish, close)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shared.logs import configure_logging
from shared.settings import CommonSettings


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
