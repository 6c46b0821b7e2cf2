"""What saturates each stage that misses its target, read from the py-spy profiles in `bench/profiles/`.

This is judgement, not measurement: re-read the profiles (`python -m bench.profile STAGE`) and
update the text when a stage's code changes. RESULTS.md prints it under every stage that misses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bottleneck:
    saturated: str
    profiles: tuple[str, ...]


BOTTLENECKS = {
    "ingest-single": Bottleneck(
        "the ingest process's CPU (one core): the ASGI/middleware stack per request, contact resolution "
        "(a database round trip) and the aiokafka producer's send path",
        ("ingest-single-ingest.svg",),
    ),
    "ingest-batch": Bottleneck(
        "the ingest process's CPU: per-event contact resolution and record assembly, then the aiokafka "
        "producer, which is itself the limit of the raw baseline",
        ("ingest-batch-ingest.svg", "ingest-batch-ingest-2.svg"),
    ),
    "scheduler-intake": Bottleneck(
        "the scheduler process's CPU (one core): the engine (pydantic states and transition records), "
        "decoding every record twice (the flow consumer and the analytics fold in the same process) and "
        "the outbox relay; database reads are now a fixed handful of queries per batch",
        ("scheduler-intake-scheduler.svg",),
    ),
    "scheduler-timers": Bottleneck(
        "the scheduler process's CPU (one core): per batch of 500 the working-set reads and their "
        "decoding (contact views, enrollment states), the engine per timer, and the outbox relay "
        "publishing three records per fire in the same process",
        ("scheduler-timers-drain.svg", "scheduler-timers-steady.svg"),
    ),
    "sender": Bottleneck(
        "the sender's per-message waiting more than its CPU: it drains at tens of messages/s with its "
        "process near half a core, and each message takes several pooled database round trips (each pool "
        "release runs asyncpg's connection reset) and commits before and after its SMTP attempt; of the CPU "
        "it does use, building the MIME message with the standard library's email package is about a third",
        ("sender-sender.svg",),
    ),
    "tracker": Bottleneck(
        "the tracker process's CPU (one core): the FastAPI/Starlette middleware stack per hit and the "
        "engagement buffer turning hits into topic records",
        ("tracker-tracker.svg",),
    ),
    "e2e": Bottleneck(
        "not the CPU: at 1,000/s the busiest programs together use well under two cores (CPU per program "
        "above), yet ingest answers only a few hundred sign-ups/s with its process at about 0.2 cores and "
        "the sender drains at about half a core, so both wait per request (database round trips and "
        "commits, broker acks) rather than compute; the scheduler keeps up (intake runs over 1,500 events/s "
        "on its own). The flame graphs show where the CPU goes; the waits need the services' await timings",
        ("e2e-scheduler.svg", "e2e-ingest.svg", "e2e-sender.svg"),
    ),
}


def bottleneck_lines(stage: str) -> list[str]:
    found = BOTTLENECKS.get(stage)
    if found is None:
        return []
    links = ", ".join(f"[{name}](profiles/{name})" for name in found.profiles)
    return [f"- Saturated: {found.saturated}. Profile: {links}."]
