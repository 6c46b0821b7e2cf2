"""The shell every service shares: a pool, a producer, probes, metrics and an orderly shutdown.

A service adds its routes and its own start/stop steps; the order on shutdown is the
reverse of start-up, so consumers stop (and commit) before the producer and the pool close.
"""

from __future__ import annotations

import asyncio
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
from shared.http import instrument, operations_router
from shared.kafka.producer import Producer
from shared.lifecycle import connect_producer
from shared.settings import CommonSettings

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


@dataclass
class Resources:
    """What a running service holds; reachable from routes as `request.app.state.resources`."""

    settings: CommonSettings
    pool: asyncpg.Pool
    producer: Producer
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
        producer = Producer(settings, linger_ms=settings.kafka_linger_ms, timeout_seconds=producer_timeout_seconds)
        connecting = asyncio.create_task(connect_producer(producer))
        resources = Resources(settings, pool, producer)
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
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            await producer.stop()
            await pool.close()

    app = app_class(title=title, version="1", description=description, lifespan=lifespan, telemetry=NO_TELEMETRY)

    async def database_ready() -> None:
        await app.state.resources.pool.fetchval("SELECT 1")

    async def broker_ready() -> None:
        try:
            await app.state.resources.producer.check_connection()
        except KafkaError as error:
            raise BrokerUnavailable(str(error)) from error

    app.include_router(operations_router(name, {"database": database_ready, "broker": broker_ready}))
    instrument(app, name)
    return app
