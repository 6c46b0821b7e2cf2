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
        "process at an even pace; this run gave 8,716/s with p99 14.9 ms, a run of the stage alone minutes later "
        "11,898/s with p99 10.9 ms. The ratio to FastAPI-validate moves between runs on unchanged ingest code (1.55 "
        "at 12:04, 1.11 in this run, 1.33 in the run after it): the baseline only validates, while an event post "
        "also goes through the Kafka client and the local broker over loopback, whose cost against Python's changes "
        "with the machine's load. Per request the CPU is uvicorn's HTTP handling (headers and body are two socket "
        "writes), validation (the hostile-input checks on free-form properties are 1–2 µs of it) and the client's "
        "produce requests; event posts skip FastAPI's stack, a declared body length is not counted again, one timer "
        "guards every acknowledgement wait, and returning contacts need no database work. A second ingest process "
        "behind the load balancer halves the wait",
        ("ingest-single-ingest.svg",),
    ),
    "ingest-batch": Bottleneck(
        "the ingest process's CPU: one-pass pydantic validation of the body, the client's produce requests and record "
        "writing. Records are written as bytes and appended to the client's open batch per partition (shared across "
        "requests). With batches of 1,000 ingest is level with the raw producer (1.03 in this run, 1.19 in the one "
        "before), with batches of 100 behind it (0.80, 0.91): each request's own cost (HTTP, key check, answer) is "
        "shared by ten times fewer events, while the raw producer has no request to answer. More ingest processes "
        "raise both",
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
        "the scheduler process's one core (0.8 of a core while draining, PostgreSQL 0.5 on the other): per fire "
        "0.21 ms of the process's CPU and 0.11 ms of PostgreSQL's in this run (0.43 and 0.26 on the slower machine "
        "of the 12:04 run, whose raw claim loop was three times slower too). In the process's samples the engine's "
        "step and its records are about a fifth, the batch's reads by key (enrollments, contacts, history, sends) "
        "about a sixth, the analytics fold (consuming the three records each fire writes, in the same process) about "
        "a sixth, the batch's writes and commit a tenth, and asyncpg's protocol and the event loop most of the rest. "
        "PostgreSQL's statement time per fire (pg_stat_statements over the stage): the message's ledger row about "
        "21 µs, the enrollment's state rewritten in a table of a million rows 21 µs, the reads by key about 30 µs, "
        "the outbox 18 µs (a transaction's records share rows of at most 7.6 kB, inline and uncompressed), the claim "
        "7 µs. The raw claim loop only deletes, which is why it drains some fifty times faster. A timer-only replica "
        "beside the scheduler raises the drain 1.5–1.9× on these two cores (the `dripline-2-processes` row; with 4 "
        "processes the two cores are full and the rate falls back), and the steady run's lateness follows the drain "
        "rate: 10,000 due/s is more than one process fires, while at 2,000 due/s, which it keeps up with, timers "
        "fire a few ms late (the `dripline-steady-2000` row). 20,000 fires/s is 50 µs of a core per fire, all "
        "processes together: the 0.32 ms a fire costs here needs about six cores for it (scheduler replicas, "
        "PostgreSQL on its own machine), or less work per fire",
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
        "so the raw loop (0.5 ms of its client's CPU per message in this run) runs near the sink's pace while the "
        "sender spends 1.1 ms per message (2.9 against 0.9 on the slower machine of the 12:04 run: the ratio holds "
        "at 0.36–0.41): the same SMTP client work (aiosmtplib makes one line-ending and one dot-stuffing pass over "
        "each message, and a socket write per command, as the raw loop does: the writes alone are a sixth of the "
        "process's samples), rendering and MIME, and the ledger statements, status publish and consumer for each batch "
        "(claimed in one statement). A render whose text is derived from the HTML is one Liquid pass over subject, "
        "preheader, HTML and text (313 µs of CPU against 402 µs for two passes, measured in alternating runs on one "
        "machine), plus a signed token per link; what is left is mostly python-liquid's own cost per value, and "
        "4,514 renders/s in this run is 0.9 of the 5,000 target. What raises them: sender replicas (2 processes "
        "drained 1.33× as fast in this run, the consumer group spreading partitions, each with its own "
        "connections), rendering off the event loop's core, and a faster core",
        ("sender-sender.svg",),
    ),
    "tracker": Bottleneck(
        "the tracker process's one core. Opens and clicks are answered in front of FastAPI (no middleware, "
        "records written straight to bytes, tokens verified with pre-keyed HMAC halves); measured in-process "
        "Dripline's own code is about 12 µs of an open and 15 µs of a click, of about 43–65 µs a hit costs the "
        "process. The rest is uvicorn's request handling and its socket writes (every write wakes the load "
        "generator, which is dear on this VM; the bare app pays the same per write) and the Kafka client, about "
        "5 µs per hit. The ratios move with the machine's speed per core (open 0.41–0.53, click 0.30–0.40 on "
        "unchanged tracker code), since the bare endpoints are mostly C and Dripline's code is Python. More "
        "tracker processes behind the load balancer raise both",
        ("tracker-tracker.svg",),
    ),
    "e2e": Bottleneck(
        "at 1,000/s the machine's CPU: both cores are busy (PostgreSQL 0.5, scheduler 0.4, sender 0.3, ingest 0.3, "
        "the broker 0.2, the inbox 0.2) and about 450 emails/s get through. The run waits until every sign-up's "
        "email arrived, so its CPU is the whole cost of the 20,000 sign-ups: 3.6 ms per sign-up of Dripline's "
        "programs (4.3 with the load generator and the inbox), so two cores carry about 460 sign-ups/s (the run "
        "delivered 450/s). "
        "At 200/s it is 8.3 ms and at 50/s 26 ms: each record then travels alone, so every program pays its "
        "per-batch work (a transaction, a commit, an outbox round, a produce request, a fetch) for one record, and "
        "idle polling (fetch waits, heartbeats, timer polls) is counted too; the broker alone uses about a quarter "
        "of a core with nothing to do, answering the consumers' 20 ms fetches. 1.5 ms per sign-up would need every "
        "program's cost per record more than halved. With nothing queued (the 50/s row) a sign-up reaches SMTP in "
        "about 40 ms: a few ms in ingest, then the scheduler hop and the sender hop, each including the embedded "
        "broker's fetch wait (it holds a fetch for the whole DRIPLINE_KAFKA_FETCH_MAX_WAIT_MS, 20 ms, even when "
        "records arrive; Apache Kafka answers at once)",
        ("e2e-scheduler.svg", "e2e-ingest.svg", "e2e-sender.svg"),
    ),
    "broadcast": Bottleneck(
        "resolution is PostgreSQL's one core (1.0 of a core while resolving, about 10–13 µs of its CPU per "
        "recipient, the use case under 1 µs): each batch of 10,000 audience members is one `INSERT ... SELECT` "
        "whose cost is PostgreSQL writing the rows and their index entries, so the rate follows that core's speed "
        "(47,574/s on the slow machine of the 12:04 run, 80,000–96,000/s since). Delivery is the one sender "
        "process, as in the sender stage: requests are judged and written several times faster than they are sent "
        "(about 78 µs of the use case's CPU and 117 µs of PostgreSQL's per recipient requested: the batch's reads "
        "by key, the policy, the ledger rows, the outbox), so the sender's CPU per message sets the pace, and with "
        "the broadcast's short template it stays near 0.7 of the raw loop. Sender replicas raise it. The bench "
        "process runs the use case with the scheduler's garbage-collector settings (a collection every 700 "
        "allocations had doubled its CPU per recipient)",
        ("broadcast-use-case.svg", "broadcast-sender.svg"),
    ),
}


def bottleneck_lines(stage: str) -> list[str]:
    found = BOTTLENECKS.get(stage)
    if found is None:
        return []
    links = ", ".join(f"[{name}](profiles/{name})" for name in found.profiles)
    return [f"- Saturated: {found.saturated}. Profile: {links}."]
