"""A consumer that can lag (the analytics fold) fetches with a longer wait than the hot path's."""

from __future__ import annotations

import pytest

from shared.contract.topics import SIGNUPS
from shared.kafka.consumer import ConsumerLoop, Incoming
from shared.kafka.producer import Producer
from shared.settings import CommonSettings


async def _ignore(batch: list[Incoming]) -> None:
    return None


@pytest.mark.parametrize(("override", "expected"), [(None, 20), (250, 250)])
async def test_fetch_wait_is_the_setting_unless_the_loop_overrides_it(override: int | None, expected: int) -> None:
    settings = CommonSettings.model_construct(
        **{**CommonSettings().model_dump(), "kafka_bootstrap_servers": "127.0.0.1:9", "kafka_fetch_max_wait_ms": 20}
    )
    producer = Producer(settings)
    loop = ConsumerLoop(
        settings, group_id="g", topics=[SIGNUPS], handler=_ignore, producer=producer, fetch_max_wait_ms=override
    )
    try:
        assert loop.consumer._fetch_max_wait_ms == expected  # what the client sends with every fetch
    finally:
        await loop.consumer.stop()
        await producer.stop()
