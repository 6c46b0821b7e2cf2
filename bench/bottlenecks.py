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
        "the ingest process's one core: at about 9k requests/s with 64 connections, p99 is queueing for the "
        "event loop (mean wait ≈ 64 / throughput). Per request the CPU is split between uvicorn's HTTP "
        "handling, validation and the client's produce requests; event posts already skip FastAPI's stack and "
        "the producer merges concurrent records into one batch per partition. Under other load on the machine "
        "the p99 rises, as does the FastAPI-validate baseline's",
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
        "and the relay. More scheduler replicas raise it (intake scales with partitions), and the fold can "
        "run in a process of its own (`DRIPLINE_SCHEDULER_ANALYTICS`, as the Kubernetes base does); on these "
        "two cores that process competes with PostgreSQL for the other core, so the bench keeps `make run`'s "
        "single process",
        ("scheduler-intake-scheduler.svg",),
    ),
    "scheduler-timers": Bottleneck(
        "the scheduler process's one core (0.8 of a core while draining, PostgreSQL 0.4–0.5 on the other): "
        "per fire about 180–190 µs of the process's CPU and 95–110 µs of PostgreSQL's on this run's machine. "
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
        "the sender process's one core, and for rendering alone the core's speed. The inbox is a bare "
        "aiosmtpd sink, so the raw loop, at about 0.5 ms of CPU per message, runs near the sink's pace while "
        "the sender spends about 1.6 ms per message: the same SMTP client work as the raw loop (aiosmtplib's "
        "line-ending and dot-stuffing regexes over the whole message and the socket write are a quarter of "
        "the sender's samples), rendering and MIME, and the ledger statements, status publish and consumer "
        "for each chunk. One process therefore reaches about 0.4 of a loop that only sends pre-rendered "
        "bytes. Rendering alone measured 3,700–3,900 messages/s on this run's machine against 5,313 in the "
        "previous published run, made on another machine of this kind: this one is slower per core (the "
        "unchanged render code of the previous commit measured 4,000–4,085/s on it, three runs, and token "
        "checks 200k/s against 240k/s), and a render is two Liquid passes over the body (the HTML and the "
        "text version compiled from it) plus a signed token per link. What raises them: sender replicas (the "
        "consumer group spreads partitions, each replica with its own connections), rendering off the event "
        "loop's core, 8BITMIME bodies where the relay offers it (quoted-printable is about 0.1 ms of a "
        "message) and a faster core",
        ("sender-sender.svg",),
    ),
    "tracker": Bottleneck(
        "the tracker process's one core. Opens and clicks are answered in front of FastAPI (no middleware, "
        "records written straight to bytes, tokens verified with pre-keyed HMAC halves); measured in-process "
        "Dripline's own code is about 12 µs of an open and 15 µs of a click, of about 65 µs a hit costs the "
        "process, so even with none of it one process would stay under 20,000/s on this machine. The rest is "
        "uvicorn's request handling and its socket writes (every write wakes the load generator, which is "
        "dear on this VM; the bare app pays the same per write) and the Kafka client, about 5 µs per hit. "
        "This run's machine is slower per core than the previous run's (token checks 200k/s against 240k/s) "
        "while the bare endpoints, mostly C, ran as fast, which is why the ratios fell from 0.47 and 0.38. "
        "More tracker processes behind the load balancer raise both",
        ("tracker-tracker.svg",),
    ),
    "e2e": Bottleneck(
        "at 1,000/s the machine's CPU: a sign-up costs about 3.2 ms of CPU summed over every program "
        "(PostgreSQL, scheduler, sender, ingest, the inbox, the broker and the load generator), so 1,000/s "
        "needs more than three cores and these two deliver about 600 emails/s while the backlog grows. Ingest "
        "keeps up with the offered rate (957–998 answers/s across runs), its answer time rising with the "
        "machine's load since every program shares the two cores. With nothing queued (the 50/s row) a "
        "sign-up reaches SMTP in about 30–35 ms: a few ms in ingest, then the scheduler hop and the sender "
        "hop, each including the embedded broker's fetch wait (it holds a fetch for the whole "
        "DRIPLINE_KAFKA_FETCH_MAX_WAIT_MS, 20 ms, even when records arrive; Apache Kafka answers at once). At "
        "200/s the per-sign-up CPU is still high (work is batched less), so both cores are nearly busy and "
        "records queue briefly",
        ("e2e-scheduler.svg", "e2e-ingest.svg", "e2e-sender.svg"),
    ),
}


def bottleneck_lines(stage: str) -> list[str]:
    found = BOTTLENECKS.get(stage)
    if found is None:
        return []
    links = ", ".join(f"[{name}](profiles/{name})" for name in found.profiles)
    return [f"- Saturated: {found.saturated}. Profile: {links}."]
