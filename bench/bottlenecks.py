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
        "the ingest process's one core: at about 9k requests/s with 64 connections, p99 is queueing for "
        "the event loop (mean wait ≈ 64 / throughput). Per request the CPU is split between uvicorn's HTTP "
        "handling, validation and the client's produce requests; event posts already skip FastAPI's stack "
        "and the producer merges concurrent records into one batch per partition. Under other load on the "
        "machine the p99 rises, as does the FastAPI-validate baseline's",
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
        "the scheduler process's CPU (one core): of its samples about half are the intake transaction "
        "(engine, working-set reads by key, the batch's statements, records written as bytes), about a fifth "
        "the analytics fold consuming the same topics in the same process, and the rest the consumer client "
        "and the relay. Running the analytics fold in a process of its own, or more scheduler replicas "
        "(intake scales with partitions), is the next step",
        ("scheduler-intake-scheduler.svg",),
    ),
    "scheduler-timers": Bottleneck(
        "the scheduler process's one core (0.8 of a core while draining in the default run, PostgreSQL 0.5 on "
        "the other): per fire about 160 µs of the process's CPU, of which about 110 µs is the timer loop "
        "(claim, engine, the state's JSON, the records' bytes, the batch's statements) and the rest the relay "
        "and the analytics fold handling the three records each fire writes; and about 100 µs of PostgreSQL: "
        "the enrollment's state (about 350 bytes) rewritten in a table of a million rows, a ledger row, "
        "three outbox rows written, read and deleted. "
        "The raw claim loop only deletes, which is why it drains forty times faster. Since the last run: "
        "records are written straight to bytes, a batch's enrollments and timers are one statement each, "
        "states keep only what the columns do not, reads go by key (PostgreSQL had hashed whole tables per "
        "batch) and the relay reads on from the last id it sent. A timer-only replica beside the scheduler "
        "raises the drain about 1.6× on these two cores (the `dripline-2-processes` row), and the steady "
        "run's lateness follows the drain rate: 10,000 due/s is more than one process fires. 20,000 fires/s "
        "would take about 50 µs per fire in the process and fewer rows per fire (one outbox row per "
        "transaction instead of three)",
        ("scheduler-timers-drain.svg", "scheduler-timers-steady.svg"),
    ),
    "sender": Bottleneck(
        "the sender process's one core. The inbox is a bare aiosmtpd sink now (it used to parse every mail, "
        "which made the sink the limit for both), so the raw loop, at about 0.5 ms of CPU per message, runs "
        "near the sink's pace while the sender spends about 1.3 ms per message: the same SMTP client work as "
        "the raw loop, rendering and MIME (about 0.45 ms: Liquid, quoted-printable encoding, headers), and "
        "the ledger statements, status publish and consumer for each chunk. One process therefore reaches "
        "about 0.4 of a loop that only sends pre-rendered bytes. What raises it: sender replicas (the "
        "consumer group spreads partitions, each replica with its own connections), rendering off the "
        "event loop's core, and 8BITMIME bodies where the relay offers it (quoted-printable encoding is "
        "about 0.1 ms of a message)",
        ("sender-sender.svg",),
    ),
    "tracker": Bottleneck(
        "the tracker process's one core. Opens and clicks are answered in front of FastAPI (no middleware, "
        "records written straight to bytes, tokens verified with pre-keyed HMAC halves, about 4 µs). Most "
        "of a hit's CPU is uvicorn's own request handling and its socket writes: every write wakes the load "
        "generator, which is dear on this VM, and the bare app pays the same per write, so bare-open (two "
        "writes) runs slower than bare-click (one). The Kafka client costs about 5 µs per hit (a future per "
        "record; one client batch per flush measured 2 µs, too little to change the ratio). Clicks sit "
        "near the 0.4 line because the bare click is one write with no token to check; more tracker "
        "processes behind the load balancer raise both",
        ("tracker-tracker.svg",),
    ),
    "e2e": Bottleneck(
        "at 1,000/s the machine's CPU: a sign-up costs about 3.3 ms of CPU summed over every program "
        "(PostgreSQL, scheduler, sender, ingest, the inbox, the broker and the load generator), so 1,000/s "
        "needs more than three cores and these two deliver about 590 emails/s while the backlog grows. "
        "Ingest is no longer the limit: a brand-new sign-up is one statement, and it answers the full "
        "1,000/s. With nothing queued (the 50/s row) a sign-up reaches SMTP in about 30 ms: a few ms in "
        "ingest, then the scheduler hop and the sender hop, each including the embedded broker's fetch wait "
        "(it holds a fetch for the whole DRIPLINE_KAFKA_FETCH_MAX_WAIT_MS, 20 ms, even when records "
        "arrive; Apache Kafka answers at once). At 200/s the per-sign-up CPU is still high (work is "
        "batched less), so both cores are nearly busy and records queue briefly",
        ("e2e-scheduler.svg", "e2e-ingest.svg", "e2e-sender.svg"),
    ),
}


def bottleneck_lines(stage: str) -> list[str]:
    found = BOTTLENECKS.get(stage)
    if found is None:
        return []
    links = ", ".join(f"[{name}](profiles/{name})" for name in found.profiles)
    return [f"- Saturated: {found.saturated}. Profile: {links}."]
