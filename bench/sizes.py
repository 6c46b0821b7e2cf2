"""How much work each stage does: the default run fits in 15 minutes on two cores."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.harness import BenchProgress
from bench.stack import BenchStack


@dataclass(frozen=True)
class Sizes:
    name: str
    connections: int = 64
    single_requests: int = 30_000
    warmup_requests: int = 3_000
    batch_events: int = 200_000
    batch_connections: int = 8
    load_seconds: float = 30.0  # no load run lasts longer than this
    pending_timers: int = 1_000_000
    due_timers: int = 100_000
    lateness_rate: float = 10_000.0  # timers due per second in the lateness run
    lateness_seconds: float = 5.0
    lateness_sustainable_rate: float = 2_000.0  # also: lateness when one process keeps up
    intake_events: int = 20_000
    sender_messages: int = 5_000
    smtp_connections: int = 4
    tracker_hits: int = 40_000
    e2e_rate: float = 1_000.0
    e2e_light_rate: float = 50.0  # latency when nothing queues, split into hops
    e2e_sustainable_rate: float = 200.0  # also offered: latency under a load the pipeline keeps up with
    e2e_seconds: float = 20.0
    e2e_smtp_connections: int = 16  # 1,000 emails/s needs more than the sender stage's 4 (≈ 500/s to the inbox)
    micro_seconds: float = 2.0
    broadcast_recipients: int = 100_000
    # The runs that only compare (two timer processes, the second steady rate, the middle end-to-end
    # rate): a run that proves each stage works end to end can leave them out.
    comparisons: bool = True


DEFAULT = Sizes("default")
LARGE = replace(DEFAULT, name="large", pending_timers=10_000_000, broadcast_recipients=1_000_000)
QUICK = Sizes(
    "quick",
    single_requests=5_000,
    warmup_requests=2_000,
    batch_events=30_000,
    load_seconds=10.0,
    pending_timers=100_000,
    due_timers=20_000,
    lateness_seconds=2.0,
    intake_events=3_000,
    sender_messages=1_000,
    tracker_hits=8_000,
    e2e_seconds=5.0,
    micro_seconds=0.5,
    broadcast_recipients=10_000,
)
# Proves every stage runs end to end; its figures mean nothing.
TINY = Sizes(
    "tiny",
    connections=4,
    single_requests=40,
    warmup_requests=10,
    batch_events=2_000,
    batch_connections=2,
    load_seconds=5.0,
    pending_timers=2_000,
    due_timers=200,
    lateness_rate=200.0,
    lateness_seconds=0.5,
    lateness_sustainable_rate=100.0,
    intake_events=50,
    sender_messages=20,
    smtp_connections=2,
    tracker_hits=100,
    e2e_rate=50.0,
    e2e_light_rate=10.0,
    e2e_sustainable_rate=20.0,
    e2e_seconds=1.0,
    e2e_smtp_connections=2,
    micro_seconds=0.05,
    broadcast_recipients=200,
    comparisons=False,
)
PRESETS = {s.name: s for s in (DEFAULT, LARGE, QUICK, TINY)}


@dataclass
class BenchContext:
    stack: BenchStack
    sizes: Sizes
    progress: BenchProgress
