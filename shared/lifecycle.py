"""Starting the clients a service needs without failing when a dependency is briefly away."""

from __future__ import annotations

import asyncio

import structlog

from shared.errors import BrokerUnavailable
from shared.kafka.producer import Producer

log = structlog.get_logger(__name__)


async def connect_producer(producer: Producer, *, retry_seconds: float = 1.0) -> None:
    """Keep trying until the broker answers; until then writes fail fast with BrokerUnavailable."""
    while True:
        try:
            await producer.start()
            log.info("broker.connected")
            return
        except BrokerUnavailable as error:
            log.warning("broker.unavailable", reason=str(error))
            await asyncio.sleep(retry_seconds)
