"""The shell every service shares: a pool, a producer, a worker supervisor, probes, metrics, a body
limit, the API docs and metrics where the settings put them, and an orderly shutdown.

A service adds its routes and its own start/stop steps, and runs its long-running loops under
`resources.supervisor`; the order on shutdown is the reverse of start-up, so consumers stop (and
commit) before the producer and the pool close.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar, overload

import asyncpg
from aiokafka.errors import KafkaError
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from shared.db.pool import create_pool
from shared.errors import BrokerUnavailable
from shared.http import BodyLimit, OperationsPort, instrument, operations_paths, operations_router
from shared.identity import process_keys
from shared.identity_keys import check_keys
from shared.kafka.producer import Producer
from shared.lifecycle import connect_producer
from shared.secret_rules import refuse_builtin_api_keys
from shared.settings import CommonSettings
from shared.workers import RestartPolicy, Supervisor

StartHook = Callable[["Resources"], Awaitable[Callable[[], Awaitable[None]] | None]]
AppT = TypeVar("AppT", bound=FastAPI)

# FastAPI's native OpenTelemetry looks up the global providers on every request; no
# service exports traces, so switch it off rather than pay those lookups per request.
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}
# Services whose settings name no `<service>_max_body_bytes` of their own.
DEFAULT_MAX_BODY_BYTES = 1_000_000


@dataclass
class Resources:
    """What a running service holds; reachable from routes as `request.app.state.resources`."""

    settings: CommonSettings
    pool: asyncpg.Pool
    producer: Producer
    supervisor: Supervisor
    extras: dict[str, object] = field(default_factory=dict)


@overload
def create_service_app(
    name: str,
    settings: CommonSettings,
    *,
    title: str,
    description: str = "",
    on_start: list[StartHook] | None = None,
    producer_timeout_seconds: float = 5.0,
) -> FastAPI: ...


@overload
def create_service_app(
    name: str,
    settings: CommonSettings,
    *,
    title: str,
    description: str = "",
    on_start: list[StartHook] | None = None,
    producer_timeout_seconds: float = 5.0,
    app_class: type[AppT],
) -> AppT: ...


def create_service_app(
    name: str,
    settings: CommonSettings,
    *,
    title: str,
    description: str = "",
    on_start: list[StartHook] | None = None,
    producer_timeout_seconds: float = 5.0,
    app_class: type[FastAPI] = FastAPI,
) -> FastAPI:
    """The service's app, built as ``app_class``.

    A FastAPI subclass may override ``__call__`` to answer its hottest requests as plain
    ASGI before FastAPI's per-request work, handing every other request to ``super()``.
    """
    hooks = on_start or []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        try:
            if settings.environment == "production":
                await refuse_builtin_api_keys(pool)
            await check_keys(pool, process_keys())  # other keys would silently match nobody
        except BaseException:
            await pool.close()
            raise
        producer = Producer(settings, linger_ms=settings.kafka_linger_ms, timeout_seconds=producer_timeout_seconds)
        supervisor = Supervisor(name, RestartPolicy.of(settings))
        supervisor.start("broker-connect", lambda: connect_producer(producer), once=True)
        resources = Resources(settings, pool, producer, supervisor)
        app.state.settings = settings
        app.state.resources = resources
        stops: list[Callable[[], Awaitable[None]]] = []
        try:
            for hook in hooks:
                stop = await hook(resources)
                if stop is not None:
                    stops.append(stop)
            yield
        finally:
            for stop in reversed(stops):
                await stop()
            await supervisor.stop_all()
            await producer.stop()
            await pool.close()

    docs = settings.api_docs
    app = app_class(
        title=title,
        version="1",
        description=description,
        lifespan=lifespan,
        telemetry=NO_TELEMETRY,
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )

    async def database_ready() -> None:
        await app.state.resources.pool.fetchval("SELECT 1")

    async def broker_ready() -> None:
        try:
            await app.state.resources.producer.check_connection()
        except KafkaError as error:
            raise BrokerUnavailable(str(error)) from error

    def loop_states() -> dict[str, str]:
        resources: Resources | None = getattr(app.state, "resources", None)
        return resources.supervisor.health() if resources is not None else {}

    checks = {"database": database_ready, "broker": broker_ready}
    app.include_router(operations_router(name, checks, loop_states, metrics=settings.metrics_endpoint))
    instrument(app, name)
    max_body = getattr(settings, f"{name}_max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    app.add_middleware(BodyLimit, max_bytes=max_body)
    if settings.operations_port is not None:
        app.add_middleware(OperationsPort, port=settings.operations_port, paths=operations_paths(app))
    return app
