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
        "throughput meets its target; the tail misses it: the ingest process uses its one core at about "
        "7k requests/s, so with 64 connections on one event loop a request's p99 includes queueing for the "
        "loop and the producer's 5 ms linger before the broker acknowledges",
        ("ingest-single-ingest.svg",),
    ),
    "ingest-batch": Bottleneck(
        "the ingest process's CPU: per-event pydantic validation and record assembly; records already go to "
        "the client as one batch per partition, and the raw baseline is the client's own send path",
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
        "the sender's per-message database round trips more than its CPU (its process stays under one core): "
        "the claim, one reader query, the suppression check, `sending` and the final state, each a pooled "
        "round trip with commits around the SMTP attempt; MIME assembly is now written directly (about "
        "50 µs) and Liquid rendering is the largest CPU share left. Batching the ledger writes of a consumed "
        "batch is the next step",
        ("sender-sender.svg",),
    ),
    "tracker": Bottleneck(
        "the tracker process's CPU (one core): the FastAPI/Starlette middleware stack per hit and the "
        "engagement buffer turning hits into topic records",
        ("tracker-tracker.svg",),
    ),
    "e2e": Bottleneck(
        "not the CPU: at 1,000/s the busiest programs together use well under two cores (CPU per program "
        "above). Ingest answers a few hundred brand-new sign-ups/s: each is one transaction (identity claim, "
        "profile merge, consent ledger and subscriptions) with its own durable commit, and the sender drains "
        "about a hundred messages/s on per-message round trips (see the sender stage). Returning customers "
        "and events without a profile change need no database at all",
        ("e2e-scheduler.svg", "e2e-ingest.svg", "e2e-sender.svg"),
    ),
}


def bottleneck_lines(stage: str) -> list[str]:
    found = BOTTLENECKS.get(stage)
    if found is None:
        return []
    links = ", ".join(f"[{name}](profiles/{name})" for name in found.profiles)
    return [f"- Saturated: {found.saturated}. Profile: {links}."]
