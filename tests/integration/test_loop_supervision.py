"""A loop killed from inside (the sender's consumer: tests/integration/sender/test_supervision.py; the tracker's
flush: tests/integration/tracker/test_flush_supervision.py; here ingest's erasure watch): an injected exception
makes `/readyz` answer 503 naming the loop until it has run well again, the restart is counted, and the loop's
work goes on."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from services.ingest.app import create_app as create_ingest
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings, IngestSettings
from tests.integration.sender.conftest import eventually
from tests.integration.sender.test_supervision import FAST, readiness
from tests.support.servers import serving
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


class FailingOnce:
    """`real`, except that its first call raises `error`: the fault injected into a running loop. Counts calls,
    so a test sees the restarted loop calling it again."""

    def __init__(self, real: Callable[..., Any], error: BaseException) -> None:
        self.real, self.error, self.calls = real, error, 0

    def _first(self) -> None:
        self.calls += 1
        if self.calls == 1:
            raise self.error

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._first()
        return await self.real(*args, **kwargs)


class FailingOnceSync(FailingOnce):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self._first()
        return self.real(*args, **kwargs)


async def own_prefix(stack: RealStack, name: str) -> str:
    prefix = f"{stack.topic_prefix}{name}{secrets.token_hex(2)}."
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    return prefix


def loop_state(client: httpx.AsyncClient, loop: str, down: bool) -> Callable[[], Awaitable[str | None]]:
    """A probe of `/readyz` for one loop: its state once it is down (or back to "ok"), whatever the others do."""

    async def probe() -> str | None:
        state = str((await client.get("/readyz")).json()["loops"].get(loop, "missing"))
        return state if (state != "ok") == down else None

    return probe


async def down_then_back(probe: httpx.AsyncClient, loop: str, service: str) -> None:
    state = await eventually(loop_state(probe, loop, down=True), timeout=30, what=f"/readyz to name the {loop} loop")
    assert "RuntimeError: injected" in state, state
    answer = await probe.get("/readyz")
    assert answer.status_code == 503 and not answer.json()["ready"]
    await eventually(loop_state(probe, loop, down=False), timeout=30, what=f"the restarted {loop} loop to be healthy")
    metrics = (await probe.get("/metrics")).text
    assert f'dripline_loop_restarts_total{{loop="{loop}",service="{service}"}}' in metrics


async def test_the_ingest_erasure_watch_dies_comes_back_and_applies_the_next_notice(
    stack: RealStack, api_key: tuple[str, str]
) -> None:
    app = create_ingest(stack.settings(IngestSettings, **FAST))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as ingest:
        await eventually(readiness(ingest, 200), what="ingest to be ready")
        watch = app.state.erasure_watch
        watch._apply = FailingOnceSync(watch._apply, RuntimeError("injected"))  # noqa: SLF001

        headers = {"X-Api-Key": api_key[1]}
        email = f"watch.{uuid.uuid4().hex[:8]}@example.com"
        made = await ingest.post("/v1/contacts", json={"email": email}, headers=headers)
        contact_id = made.json()["contact_id"]
        assert (await ingest.delete(f"/v1/contacts/{contact_id}", headers=headers)).status_code == 200

        await down_then_back(ingest, "erasure-watch", "ingest")

        async def applied() -> bool:
            return bool(watch.applied >= 1)

        await eventually(applied, what="the erasure applied after the restart (it is looked at again)")
