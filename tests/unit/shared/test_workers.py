"""The worker supervisor: restarts with growing, capped, jittered backoff; readiness names a loop that is
down, recovering or crash-looping, and clears once the loop has run well for a while."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from shared.workers import LoopHealth, RestartPolicy, Supervisor

POLICY = RestartPolicy(initial_seconds=1.0, max_seconds=30.0, healthy_after_seconds=10.0, crash_limit=3)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_per_crash_in_a_row_up_to_the_cap_with_jitter() -> None:
    ceilings = [POLICY.delay(n, jitter=0.999999) for n in range(1, 9)]
    assert [round(c) for c in ceilings] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert POLICY.delay(3, jitter=0.0) == 2.0  # equal jitter: between half the ceiling and the ceiling
    assert POLICY.delay(10_000, jitter=0.5) == 22.5  # no overflow however long it crash-loops


def test_a_crash_makes_the_loop_down_then_recovering_then_healthy() -> None:
    clock, health = FakeClock(), LoopHealth(POLICY)
    health.started(clock())
    assert health.problem(clock()) is None

    clock.now += 60
    delay = health.crashed(clock(), RuntimeError("boom"), jitter=0.0)
    assert delay == 0.5
    assert health.problem(clock()) == "down, restarting in 0.5 s after RuntimeError: boom"

    clock.now += delay
    health.started(clock())
    assert health.problem(clock()) == "recovering after RuntimeError: boom"
    clock.now += 9.9
    assert health.problem(clock()) == "recovering after RuntimeError: boom"
    clock.now += 0.2
    assert health.problem(clock()) is None


def test_crashes_in_a_row_grow_the_backoff_and_a_healthy_run_resets_it() -> None:
    clock, health = FakeClock(), LoopHealth(POLICY)
    delays = []
    for _ in range(4):
        health.started(clock())
        clock.now += 1  # crashes soon after each start
        delays.append(health.crashed(clock(), ValueError("bad"), jitter=0.999999))
        clock.now += delays[-1]
    assert [round(d) for d in delays] == [1, 2, 4, 8]

    health.started(clock())
    clock.now += 11  # ran well this time
    assert round(health.crashed(clock(), ValueError("bad"), jitter=0.999999)) == 1


def test_more_crashes_than_the_limit_within_a_minute_is_crash_looping_until_they_age_out() -> None:
    clock, health = FakeClock(), LoopHealth(POLICY)
    for _ in range(4):
        health.started(clock())
        clock.now += 12  # each run long enough to count as healthy on its own
        health.crashed(clock(), OSError("gone"), jitter=0.0)
        clock.now += 0.5
    health.started(clock())
    clock.now += 11
    problem = health.problem(clock())
    assert problem is not None and problem.startswith("crash-looping: 4 restarts in the last 60 s")

    clock.now += 60  # the crashes leave the window
    assert health.problem(clock()) is None


async def test_a_loop_that_raises_is_logged_counted_restarted_and_reported_until_it_runs_well() -> None:
    policy = RestartPolicy(initial_seconds=0.02, max_seconds=0.05, healthy_after_seconds=0.2, crash_limit=3)
    supervisor = Supervisor("unit", policy)
    runs = 0
    running = asyncio.Event()
    stopping = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("first run fails")
        running.set()
        await stopping.wait()

    with capture_logs() as logs:
        supervisor.start("flaky", flaky, finish=stopping.set)
        await asyncio.wait_for(running.wait(), 2)
    try:
        [crash] = [entry for entry in logs if entry["event"] == "loop.crashed"]
        assert crash["loop"] == "flaky" and isinstance(crash["exc_info"], RuntimeError)
        assert REGISTRY.get_sample_value("dripline_loop_restarts_total", {"service": "unit", "loop": "flaky"}) == 1
        assert supervisor.health()["flaky"] == "recovering after RuntimeError: first run fails"
        await _until(lambda: supervisor.health() == {"flaky": "ok"})
        assert REGISTRY.get_sample_value("dripline_loop_up", {"service": "unit", "loop": "flaky"}) == 1
    finally:
        await supervisor.stop_all(grace=1.0)
    assert runs == 2 and stopping.is_set()
    assert REGISTRY.get_sample_value("dripline_loop_up", {"service": "unit", "loop": "flaky"}) is None


async def test_a_loop_that_returns_unasked_is_restarted_and_one_that_is_done_is_not() -> None:
    policy = RestartPolicy(initial_seconds=0.01, max_seconds=0.01, healthy_after_seconds=0.0, crash_limit=100)
    supervisor = Supervisor("unit-returns", policy)
    calls = {"loop": 0, "once": 0}

    async def returns_early() -> None:
        calls["loop"] += 1

    async def finishes() -> None:
        calls["once"] += 1

    supervisor.start("loop", returns_early)
    supervisor.start("once", finishes, once=True)
    try:
        await _until(lambda: calls["loop"] >= 3)
        assert calls["once"] == 1 and supervisor.health()["once"] == "ok"
    finally:
        await supervisor.stop_all()


async def test_stop_cancels_what_does_not_finish_within_its_grace() -> None:
    supervisor = Supervisor("unit-stop", POLICY)
    cancelled = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    supervisor.start("stubborn", stubborn)
    await asyncio.sleep(0)
    await supervisor.stop("stubborn", grace=0.05)
    assert cancelled.is_set()
    with pytest.raises(ValueError, match="already supervised"):
        supervisor.start("stubborn", stubborn)


async def _until(condition: object, seconds: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
