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
        "the ingest process's one core: at about 6–7k requests/s with 64 connections, p99 is queueing for "
        "the event loop (mean wait ≈ 64 / throughput). Per request the CPU is split between uvicorn's HTTP "
        "handling, validation and the client's produce requests; event posts already skip FastAPI's stack "
        "and the producer merges concurrent records into one batch per partition. Under other load on the "
        "machine the p99 rises above 20 ms, as does the FastAPI-validate baseline's",
        ("ingest-single-ingest.svg",),
    ),
    "ingest-batch": Bottleneck(
        "the ingest process's CPU: one-pass pydantic validation of the body (about 16% of the samples), the "
        "client's produce requests (about 12%) and record writing. Records are written as bytes and appended "
        "to the client's open batch per partition (shared across requests), and full garbage collections are "
        "rare; at about 50k events/s it matches the raw producer",
        ("ingest-batch-ingest.svg", "ingest-batch-ingest-2.svg"),
    ),
    "scheduler-intake": Bottleneck(
        "the scheduler process's CPU (one core): of its samples about 40% are the intake transaction (engine, "
        "working-set reads, the batch's statements), about 23% the analytics fold consuming the same topics "
        "in the same process and about 10% the outbox relay; profile attributes are read and stored per batch, "
        "not per record. Running the analytics fold in a process of its own is the next step",
        ("scheduler-intake-scheduler.svg",),
    ),
    "scheduler-timers": Bottleneck(
        "the scheduler process and PostgreSQL together, each on its own core (about 0.7 and 0.8 of a core "
        "while draining in the default run; 0.3 for PostgreSQL with the quick preset's smaller tables): per "
        "fire the engine, the state's JSON, three outgoing records (transition, request, transition) and the "
        "relay publishing them, about 200 µs of Python; and in the database the enrollment's state rewritten "
        "in a table of a million rows, a ledger row, three outbox rows written, read and deleted. The raw "
        "claim loop only deletes, which is why it drains fifty times faster. Since the last run: engine "
        "actions are dataclasses, headers and name-based ids are cheap, two timer workers overlap database "
        "waits, and the garbage collector no longer runs every few records (it took a fifth of the time). A "
        "timer-only replica beside the scheduler raises the drain about 1.4× on these two cores (the "
        "`dripline-2-processes` row); more cores and replicas raise it further, and 20,000 fires/s would "
        "take a per-fire cost near 50 µs in the process and fewer rows written per fire",
        ("scheduler-timers-drain.svg", "scheduler-timers-steady.svg"),
    ),
    "sender": Bottleneck(
        "waiting, not CPU: the sender used about 0.4 of a core and the inbox 0.7 while sending (CPU per "
        "program above), so neither is saturated. A message is four SMTP command round trips on one of the "
        "four connections, and each chunk of 64 adds its ledger statements and one status publish that the "
        "raw loop (pre-rendered bytes, nothing recorded) does not have. Batches already go in chunks, two in "
        "flight, so rendering overlaps sending; more chunks in flight or SMTP pipelining would close more of "
        "the gap. Rendering alone reaches about 5,000/s on a quiet core and less when other programs share it",
        ("sender-sender.svg",),
    ),
    "tracker": Bottleneck(
        "the tracker process's one core. Opens and clicks are answered in front of FastAPI (no middleware, "
        "records written straight to bytes, tokens verified with pre-keyed HMAC halves). About half of a "
        "hit's CPU is uvicorn's own request handling and its socket writes: every write wakes the load "
        "generator, which is dear on this VM, and the bare app pays the same per write, so bare-open (two "
        "writes) runs at half of bare-click. About a sixth is the Kafka client (a future per record in "
        "aiokafka's accumulator). Clicks miss the ratio most because the bare click is one write with no "
        "token to check",
        ("tracker-tracker.svg",),
    ),
    "e2e": Bottleneck(
        "at 1,000/s, ingest's answers to brand-new sign-ups: they are grouped (sign-ups arriving within 2 ms "
        "share one transaction and one durable commit), but each still takes about nine statements (identity "
        "claim, profile merge, consent ledger, subscriptions), so ingest answers about 450/s while using a "
        "fifth of a core: round trips bound it, not the CPU; set-based SQL per group is the next step. At "
        "200/s everything keeps up; traced at 50/s a sign-up spends about 25 ms in ingest, 30 ms to its "
        "enrollment, 90 ms from the scheduler's commit through the outbox relay and the broker to the "
        "sender's claim (each consumer hop waits up to DRIPLINE_KAFKA_FETCH_MAX_WAIT_MS on the embedded "
        "broker) and 20 ms to render and send",
        ("e2e-scheduler.svg", "e2e-ingest.svg", "e2e-sender.svg"),
    ),
}


def bottleneck_lines(stage: str) -> list[str]:
    found = BOTTLENECKS.get(stage)
    if found is None:
        return []
    links = ", ".join(f"[{name}](profiles/{name})" for name in found.profiles)
    return [f"- Saturated: {found.saturated}. Profile: {links}."]
