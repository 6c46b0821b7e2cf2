"""A running scheduler refuses flow and segment bombs at once, with the line, and stays ready meanwhile."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.integration.scheduler.conftest import Shop, publish
from tests.integration.scheduler.test_flow_runs import TWO_STEPS

pytestmark = pytest.mark.stack

HEAD = "id: bomb\nname: Bomb\ntriggers:\n  - type: event\n    event: signup\nsteps:\n  - id: done\n    type: exit\n"
# The issue measured 0.26 s for 6 levels, growing ninefold per level: 9 levels would hold the loop for minutes.
ALIASES = (
    HEAD
    + "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, 9))
)
BOMBS = {
    "aliases": (ALIASES, 9, "YAML anchors and aliases"),
    "size": (HEAD + "# padding\n" * 20_000, 1, "bytes; at most"),
    "depth": (HEAD + "x: " + "[" * 5_000 + "]" * 5_000 + "\n", 9, "nests deeper than"),
    "values": (HEAD + "x: [" + "1," * 3_000 + "1]\n", 9, "values; split it"),
}
# Generous for a loaded machine; the refusals take well under a millisecond of the scheduler's time.
QUICKLY_S = 5.0  # an unbounded alias bomb held the event loop for minutes; a loaded CI machine needs room


async def timed(request: asyncio.Future[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await request
    return response, time.perf_counter() - started


@pytest.mark.parametrize("bomb", BOMBS)
async def test_a_flow_bomb_is_refused_with_its_line_while_the_scheduler_stays_ready(shop: Shop, bomb: str) -> None:
    source, line, reason = BOMBS[bomb]
    async with shop.scheduler() as scheduler:
        posted = asyncio.ensure_future(
            scheduler.post("/v1/flows", content=source, headers={"Content-Type": "application/yaml"})
        )
        ready, ready_s = await timed(asyncio.ensure_future(scheduler.get("/readyz")))
        refused, refused_s = await timed(posted)

        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["problems"]
        assert problem["line"] == line and reason in problem["reason"], problem
        assert ready.status_code == 200, ready.text
        assert refused_s < QUICKLY_S and ready_s < QUICKLY_S
        assert (await scheduler.get("/v1/flows/bomb")).status_code == 404
        await publish(scheduler, TWO_STEPS)


async def test_conditions_whose_cost_cannot_be_bounded_are_refused(shop: Shop) -> None:
    quadratic = "event.items.map(now, now).size() > 0"
    branch = HEAD.replace(
        "  - id: done\n",
        f"  - id: pick\n    type: branch\n    conditions:\n      - when: '{quadratic}'\n        next: done\n"
        "    else: done\n  - id: done\n",
    )
    async with shop.scheduler() as scheduler:
        flow, flow_s = await timed(
            asyncio.ensure_future(
                scheduler.post("/v1/flows", content=branch, headers={"Content-Type": "application/yaml"})
            )
        )
        segment = await scheduler.post("/v1/segments", json={"id": "big", "name": "Big", "condition": quadratic})
        long = await scheduler.post(
            "/v1/segments", json={"id": "long", "name": "Long", "condition": "1" + "+1" * 5_000 + " > 0"}
        )

        assert flow.status_code == 422 and flow_s < QUICKLY_S
        [problem] = flow.json()["problems"]
        assert problem["line"] == 10 and "list macros" in problem["reason"], problem
        assert segment.status_code == 422 and "list macros" in segment.text
        assert long.status_code == 422
        assert (await scheduler.get("/readyz")).status_code == 200
