"""`make run` watches its broker as it watches the services: a Tansu that dies is started again on its port,
its topics are created again (it keeps records in memory only), and the console is told so."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from dripline.devstack.broker import free_port
from dripline.devstack.stack import LocalStack
from shared.contract.topics import EVERY_TOPIC
from shared.kafka.client import client_options
from shared.settings import DevStackSettings

pytestmark = pytest.mark.stack


def topics_on(settings: DevStackSettings) -> set[str]:
    async def listed() -> set[str]:
        admin = AIOKafkaAdminClient(**client_options(settings))
        await admin.start()
        try:
            return set(await admin.list_topics())
        finally:
            await admin.close()

    return asyncio.run(listed())


def test_a_broker_that_dies_is_started_again_with_its_topics_and_the_console_is_told(tmp_path: Path) -> None:
    settings = DevStackSettings(  # type: ignore[call-arg]  # no .env: this test's broker only
        _env_file=None, data_dir=tmp_path, broker_port=free_port(), kafka_bootstrap_servers=None, topic_partitions=1
    )
    stack = LocalStack(settings)
    stack.logs_dir.mkdir(parents=True)
    bootstrap = stack.start_broker()
    ready = stack.ready = settings.model_copy(update={"kafka_bootstrap_servers": bootstrap})
    wanted = {topic.full_name(settings.topic_prefix) for topic in EVERY_TOPIC}
    broker = stack.broker
    assert broker is not None and broker.pid is not None
    try:
        assert stack.supervise_broker() is None  # running: nothing to do
        first = broker.pid
        os.kill(first, signal.SIGKILL)

        deadline = time.monotonic() + 15
        said = None
        while said is None:
            assert time.monotonic() < deadline, "the broker was not started again"
            said = stack.supervise_broker()
            time.sleep(0.1)

        assert said.startswith(f"broker exited (code {-signal.SIGKILL}); restarted on {bootstrap}"), said
        assert f"{len(wanted)} topics created again" in said and "memory only" in said
        assert broker.pid != first and broker.exited() is None
        assert wanted <= topics_on(ready)
        assert stack.supervise_broker() is None
    finally:
        stack.stop()
