"""Runs one service's app under uvicorn with graceful shutdown (SIGTERM: stop intake, finish, close),
on its port and, when set, the operations port; not at all with unsafe secrets in production."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from shared.logs import configure_logging
from shared.secret_rules import UnsafeSecret, refuse_unsafe_secrets
from shared.settings import CommonSettings

S = TypeVar("S", bound=CommonSettings)

# CPython collects young objects every 700 allocations; a consumed batch allocates tens of
# thousands of short-lived objects, so that ran a collection every few records and took a fifth
# of the scheduler's time firing timers. Reference counting frees nearly everything here (cycles
# are rare), so the collector can run far less often.
GC_THRESHOLDS = (50_000, 20, 100)
STARTUP_FAILURE = 3  # uvicorn's exit code when the app does not start (its lifespan failed)


def tune_garbage_collector() -> None:
    """Move what start-up built (modules, schemas, the app) out of the collector's sight, and collect
    young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serve(app: FastAPI, *, service: str, host: str, port: int, settings: CommonSettings) -> None:
    configure_logging(settings, service)
    tune_garbage_collector()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        timeout_keep_alive=settings.http_keep_alive_seconds,
    )
    sockets = [config.bind_socket()]
    if settings.operations_port is not None:
        # One server on both sockets: requests tell them apart by their local port (`OperationsPort`).
        sockets.append(uvicorn.Config(app, host=host, port=settings.operations_port, log_config=None).bind_socket())
    server = uvicorn.Server(config)
    server.run(sockets=sockets)
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def run_service(service: str, create_app: Callable[[S], FastAPI], settings: S) -> None:
    """`python -m services.<name>`: the app on the host and port its own settings name."""
    try:
        refuse_unsafe_secrets(settings)
    except UnsafeSecret as refused:
        sys.exit(f"{service}: {refused}")
    host = str(getattr(settings, f"{service}_host"))
    port = int(getattr(settings, f"{service}_port"))
    serve(create_app(settings), service=service, host=host, port=port, settings=settings)
