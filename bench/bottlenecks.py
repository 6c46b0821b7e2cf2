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
        "the ingest process's one core. p99 is queueing for the event loop: with 64 connections in a closed loop the "
        "mean wait is about 64 / throughput, so p99 under 10 ms needs more than about 6,400 requests/s from one "
        "process, and this run's machine gave 5,506 (its baselines were 20–45% slower than the previous run's: "
        "FastAPI-validate 3,546 against 5,498/s, the raw producer 22,954 against 41,812/s). Per request the CPU is "
        "uvicorn's HTTP handling (headers and body are two socket writes), validation (the hostile-input checks on "
        "free-form properties are 1–2 µs of it) and the client's produce requests; event posts skip FastAPI's stack, "
        "a declared body length is not counted again, one timer guards every acknowledgement wait, and returning "
        "contacts need no database work. A second ingest process behind the load balancer halves the wait",
        ("ingest-single-ingest.svg",),
    ),
    "ingest-batch": Bottleneck(
        "the ingest process's CPU: one-pass pydantic validation of the body, the client's produce requests and record "
        "writing. Records are written as bytes and appended to the client's open batch per partition (shared across "
        "requests). With batches of 1,000 ingest is ahead of the raw producer (1.19), with batches of 100 just behind "
        "it (0.91): each request's own cost (HTTP, key check, answer) is shared by ten times fewer events. The "
        "absolute rate follows the machine (the raw producer itself reached 22,954 events/s on this run against "
        "41,812 on the previous one)",
        ("ingest-batch-ingest.svg", "ingest-batch-ingest-2.svg"),
    ),
    "scheduler-intake": Bottleneck(
        "the scheduler process's CPU (one core): of its samples about half are the intake transaction "
        "(engine, working-set reads by key, the batch's statements, records written as bytes), about a fifth "
        "the analytics fold consuming the same topics in the same process, and the rest the consumer client "
        "and the relay. More scheduler replicas raise it (intake scales with partitions), and the fold can "
        "run in a process of its own (`DRIPLINE_SCHEDULER_ANALYTICS`, as the Kubernetes base does); on these "
        "two cores that process competes with PostgreSQL for the other core, so the bench keeps `make run`'s "
        "single process",
        ("scheduler-intake-scheduler.svg",),
    ),
    "scheduler-timers": Bottleneck(
        "the scheduler process's one core (0.8 of a core while draining, PostgreSQL 0.4–0.5 on the other): "
        "per fire about 0.43 ms of the process's CPU and 0.26 ms of PostgreSQL's on this run's machine (0.31 and "
        "0.17 on the previous, faster one; the raw claim loop ran at about half its previous rate too). "
        "In the process's samples the engine's step and its records are about a fifth, the batch's reads by "
        "key (enrollments, contacts, history, sends) about a sixth, the analytics fold (consuming the three "
        "records each fire writes, in the same process) about a sixth, the batch's writes and commit a tenth, "
        "and asyncpg's protocol and the event loop most of the rest. PostgreSQL's statement time per fire "
        "(pg_stat_statements over the stage): the message's ledger row about 21 µs, the enrollment's state "
        "rewritten in a table of a million rows 21 µs, the reads by key about 30 µs, the outbox 18 µs (a "
        "transaction's records now share rows of at most 7.6 kB, inline and uncompressed: measured alone, a "
        "row per record cost PostgreSQL about 12 µs per record written, read and deleted, shared rows about 4 "
        "µs, and one compressed row per transaction about 6 µs), the claim 7 µs. The raw claim loop only "
        "deletes, which is why it drains forty times faster. A timer-only replica beside the scheduler raises "
        "the drain 1.6–1.9× on these two cores (the `dripline-2-processes` row), and the steady run's "
        "lateness follows the drain rate: 10,000 due/s is more than one process fires, while at 2,000 due/s, "
        "which it keeps up with, timers fire a few ms late (the `dripline-steady-2000` row). 20,000 fires/s "
        "is 50 µs of a core per fire, all processes together: PostgreSQL alone spends more than that, so it "
        "takes more cores (more scheduler replicas, PostgreSQL on its own machine) or less database work per "
        "fire",
        ("scheduler-timers-drain.svg", "scheduler-timers-steady.svg"),
    ),
    "scheduler-timers@large": Bottleneck(
        "as in the default run, the scheduler's CPU per fire: the run shared the two cores with other work "
        "(load average about 3 at its start), so the scheduler got 0.44 of a core while draining and PostgreSQL "
        "0.2, and the drain rate fell with the CPU they got. Per fire the cost held with ten times the data: "
        "0.37 ms of the scheduler's CPU and 0.17 ms of PostgreSQL's, against 0.31 and 0.17 with 1 M pending "
        "(claims walk the `timers_due` index, enrollments are read and rewritten by key, so neither grows with "
        "the table), and storage per million rows is the same (165 MiB of timers, 741 MiB of enrollments). "
        "More processes raised the drain as in the default run (1.66× with 2, 2.85× with 4 on a busy machine)",
        ("scheduler-timers-drain.svg",),
    ),
    "sender": Bottleneck(
        "the sender process's one core, and for rendering alone the core's speed. The inbox is a bare aiosmtpd sink, "
        "so the raw loop (0.9 ms of its client's CPU per message on this run's machine, slower per core than the "
        "previous run's 0.7) runs near the sink's pace while the sender spends 2.9 ms per message: the same SMTP "
        "client work (aiosmtplib still makes one line-ending and one dot-stuffing pass over each message; the pass it "
        "made to measure SIZE is gone), rendering and MIME, and the ledger statements, status publish and consumer "
        "for each batch (claimed in one statement). One process therefore reaches about 0.35–0.4 of a loop that only "
        "sends pre-rendered bytes. A render whose text is derived from the HTML is one Liquid pass over subject, "
        "preheader, HTML and text (313 µs of CPU against 402 µs for two passes, measured in alternating runs on one "
        "machine), plus a signed token per link; what is left is mostly python-liquid's own cost per value. What "
        "raises them: sender replicas (the consumer group spreads partitions, each with its own connections), "
        "rendering off the event loop's core, and a faster core",
        ("sender-sender.svg",),
    ),
    "tracker": Bottleneck(
        "the tracker process's one core. Opens and clicks are answered in front of FastAPI (no middleware, "
        "records written straight to bytes, tokens verified with pre-keyed HMAC halves); measured in-process "
        "Dripline's own code is about 12 µs of an open and 15 µs of a click, of about 65 µs a hit costs the "
        "process, so even with none of it one process would stay under 20,000/s on this machine. The rest is "
        "uvicorn's request handling and its socket writes (every write wakes the load generator, which is "
        "dear on this VM; the bare app pays the same per write) and the Kafka client, about 5 µs per hit. "
        "The ratios move with the machine's speed per core (0.47 and 0.38, then 0.51 and 0.30, now 0.41 and "
        "0.35 on unchanged tracker code), since the bare endpoints are mostly C and Dripline's code is Python. "
        "More tracker processes behind the load balancer raise both",
        ("tracker-tracker.svg",),
    ),
    "e2e": Bottleneck(
        "at 1,000/s the machine's CPU: both cores are busy (PostgreSQL 0.4, scheduler 0.4, sender 0.3, ingest 0.3, "
        "the broker 0.2, the inbox 0.2) and about 250 emails/s get through while the backlog grows, so the CPU of "
        "Dripline's programs in the run, 6.1 ms per email delivered, counts work for sign-ups still queued too; at "
        "200/s, which mostly keeps up, it is 8.8 ms, and at 50/s 31.6 ms, where idle polling (fetch waits, "
        "heartbeats, timer polls) is most of it. 1.5 ms per sign-up would need every program's cost per record halved "
        "and the polling shared by more records. With nothing queued (the 50/s row) a sign-up reaches SMTP in about "
        "100 ms on this run's machine: a few ms in ingest, then the scheduler hop and the sender hop, each including "
        "the embedded broker's fetch wait (it holds a fetch for the whole DRIPLINE_KAFKA_FETCH_MAX_WAIT_MS, 20 ms, "
        "even when records arrive; Apache Kafka answers at once)",
        ("e2e-scheduler.svg", "e2e-ingest.svg", "e2e-sender.svg"),
    ),
}


def bottleneck_lines(stage: str) -> list[str]:
    found = BOTTLENECKS.get(stage)
    if found is None:
        return []
    links = ", ".join(f"[{name}](profiles/{name})" for name in found.profiles)
    return [f"- Saturated: {found.saturated}. Profile: {links}."]
