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
        "the sender process's CPU: building the MIME message with the standard library's email package "
        "(about a third), rendering, and several pooled database round trips per message (each pool "
        "release runs asyncpg's connection reset)",
        ("sender-sender.svg",),
    ),
    "tracker": Bottleneck(
        "the tracker process's CPU (one core): the FastAPI/Starlette middleware stack per hit and the "
        "engagement buffer turning hits into topic records",
        ("tracker-tracker.svg",),
    ),
    "e2e": Bottleneck(
        "CPU of the whole machine: at 1,000 sign-ups/s ingest, scheduler (with its relay) and sender "
        "each need most of a core, alongside PostgreSQL, the broker, the SMTP inbox and the load "
        "generator on two cores (see the CPU per program above), so queues grow",
        ("e2e-scheduler.svg", "e2e-ingest.svg", "e2e-sender.svg"),
    ),
}


def bottleneck_lines(stage: str) -> list[str]:
    found = BOTTLENECKS.get(stage)
    if found is None:
        return []
    links = ", ".join(f"[{name}](profiles/{name})" for name in found.profiles)
    return [f"- Saturated: {found.saturated}. Profile: {links}."]
