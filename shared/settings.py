"""Every setting Dripline reads, in one place.

Settings come from environment variables (and an optional `.env` file). Names are
`DRIPLINE_<FIELD>` except the two connection strings platform tools expect bare:
`DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS`. Secrets are `SecretStr`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# `.dripline/stack.env` is written by `make run`, so a service or CLI command started by hand
# finds the local stack; real environment variables always win over both files.
_CONFIG = SettingsConfigDict(env_prefix="DRIPLINE_", env_file=(".dripline/stack.env", ".env"), extra="ignore")


class CommonSettings(BaseSettings):
    """What every service needs: where the broker and database are, and how to log."""

    model_config = _CONFIG

    environment: Literal["local", "production"] = Field(
        default="production",
        description="`local` (what `dripline run` sets) lets a service start with the built-in development "
        "secrets; `production` refuses to start while a secret is missing, shorter than 32 bytes or built in.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "DRIPLINE_DATABASE_URL"),
        description="PostgreSQL URL (postgresql://…). Unset: the local stack's embedded PostgreSQL.",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "DRIPLINE_KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated host:port list. Unset: the local stack's embedded broker.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA bundle for broker TLS.")
    kafka_fetch_max_wait_ms: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="Longest a consumer's fetch waits at the broker. Apache Kafka answers as soon as records "
        "arrive, so this only paces idle polling; the embedded broker waits the whole time, so a record's "
        "latency per consumer hop is up to this.",
    )
    kafka_session_timeout_ms: int = Field(
        default=10_000,
        ge=500,
        le=300_000,
        description="How long a consumer group waits for a silent member before handing its partitions to the "
        "others. The embedded broker also makes a joining member wait about half of it, and a member that "
        "rejoins wait for its old self to expire, so `make run` on the embedded broker sets 1000 (and the "
        "heartbeat 250).",
    )
    kafka_heartbeat_interval_ms: int = Field(
        default=3_000,
        ge=100,
        le=100_000,
        description="How often a consumer tells its group it is alive; well under the session timeout.",
    )
    kafka_linger_ms: int = Field(
        default=0,
        ge=0,
        le=1_000,
        description="How long a producer waits for more records before sending a batch. Records batch up "
        "anyway while the previous request to the broker is in flight, so waiting only adds latency per hop.",
    )
    topic_prefix: str = Field(default="", description="Prepended to every topic name (isolates test runs).")
    topic_partitions: int = Field(default=8, ge=1, description="Partitions per topic when Dripline creates them.")
    topic_replication_factor: int = Field(default=1, ge=1)
    db_pool_size: int = Field(default=10, ge=1, description="Connections per service process.")
    data_dir: Path = Field(default=Path(".dripline"), description="Local stack state (database, logs).")
    log_level: str = "INFO"
    log_json: bool = Field(default=True, description="JSON logs (set false for console-friendly lines).")
    shutdown_grace_seconds: float = Field(default=20.0, description="Time to finish in-flight work on SIGTERM.")
    http_keep_alive_seconds: int = Field(
        default=75,
        ge=1,
        description=(
            "How long an idle HTTP connection stays open. Longer than a client's or load balancer's own idle limit,"
            " so the client always closes first and never sends a request on a connection the server is closing."
        ),
    )
    api_docs: bool = Field(default=True, description="Serve the OpenAPI description (/openapi.json, /docs, /redoc).")
    metrics_endpoint: bool = Field(default=True, description="Serve Prometheus metrics at /metrics.")
    operations_port: int | None = Field(
        default=None,
        ge=1,
        le=65_535,
        description="Serve /metrics and the API docs on this second port only (the service's port answers 404 "
        "for them). Unset: on the service's port.",
    )
    # Links in messages (clicks, unsubscribe, confirmation) are signed by the services that
    # write them and verified by the tracker, so every service shares these two.
    tracker_public_url: str = Field(default="http://127.0.0.1:8004", description="Base URL in emails.")
    link_signing_keys: SecretStr = Field(
        default=SecretStr("dev:insecure-development-key-change-me"),
        description="Comma-separated `kid:secret` pairs; the first signs, all verify (rotation).",
    )
    # Identity and suppression tables hold keyed hashes of addresses; every service makes the same ones.
    identifier_keys: SecretStr = Field(
        default=SecretStr("dev:insecure-development-identifier-key"),
        description="HMAC keys of the hashes identity and suppression tables hold: comma-separated `kid:secret` "
        "pairs, oldest first. Rotate by adding a key at the end and running `dripline migrate`, which re-keys "
        "the stored hashes; never remove or reorder one (docs/privacy.md).",
    )
    erasure_deadline_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 30,
        description="Longest an erased contact's profiles stay on contacts.changes after the tombstone, on Apache "
        "Kafka: sets the topic's segment.ms and max.compaction.lag.ms when Dripline creates it.",
    )
    # Every long-running loop runs under the worker supervisor (shared/workers.py).
    loop_backoff_initial_seconds: float = Field(
        default=0.5, gt=0, description="Wait before restarting a loop that crashed; doubles per crash in a row."
    )
    loop_backoff_max_seconds: float = Field(default=30.0, gt=0, description="Longest wait before a loop restarts.")
    loop_healthy_after_seconds: float = Field(
        default=10.0,
        ge=0,
        description="A restarted loop counts as healthy (and /readyz as ready) once it has run this long.",
    )
    loop_crash_limit: int = Field(
        default=3, ge=1, description="More restarts than this within a minute: the loop is crash-looping (/readyz 503)."
    )
    consumer_retry_seconds: float = Field(
        default=1.0, gt=0, description="First wait before a consumer retries a failed batch; doubles up to the cap."
    )
    consumer_poison_attempts: int = Field(
        default=3, ge=1, description="Tries of a record that keeps failing before it goes to dead letters."
    )

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> CommonSettings:
        if self.kafka_heartbeat_interval_ms >= self.kafka_session_timeout_ms:
            raise ValueError(
                "DRIPLINE_KAFKA_HEARTBEAT_INTERVAL_MS must be shorter than DRIPLINE_KAFKA_SESSION_TIMEOUT_MS "
                "(a third of it or less), or the group drops members that are alive"
            )
        return self


class IngestSettings(CommonSettings):
    """The shops' HTTP API."""

    ingest_host: str = "127.0.0.1"
    ingest_port: int = 8001
    ingest_max_body_bytes: int = Field(default=2_000_000, description="Larger request bodies get 413.")
    ingest_max_batch: int = Field(default=1000, description="Most events in one batch call.")
    ingest_broker_timeout_seconds: float = Field(
        default=5.0, description="How long to wait for the broker before answering 503."
    )


class SchedulerSettings(CommonSettings):
    """Flows, timers and the outbox relay."""

    scheduler_host: str = "127.0.0.1"
    scheduler_port: int = 8002
    scheduler_max_body_bytes: int = Field(
        default=262_144, ge=1, description="Larger request bodies get 413 (flow files are at most 32 KiB)."
    )
    timer_batch: int = Field(default=500, ge=1, description="Timers claimed per transaction.")
    timer_workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Batches of due timers fired at once in one process: one computes while another waits on "
        "the database.",
    )
    timer_poll_seconds: float = Field(
        default=1.0, gt=0, description="Longest sleep between looks for due timers (other replicas' timers)."
    )
    timer_retry_seconds: float = Field(default=60.0, gt=0, description="Delay before a timer that failed fires again.")
    outbox_batch: int = Field(default=500, ge=1, description="Records the outbox relay sends per batch.")
    outbox_poll_seconds: float = Field(default=0.5, gt=0, description="Outbox relay poll when not woken in-process.")
    intake_max_records: int = Field(default=500, ge=1, description="Records per consumer batch (one transaction).")
    reconcile_after_seconds: float = Field(
        default=900.0,
        gt=0,
        description="A message requested this long ago that the sender's send ledger still lacks (the broker "
        "lost it) is requested again through the outbox; rounds run every quarter of this, at most 60 s apart.",
    )
    reconcile_batch: int = Field(default=500, ge=1, description="Most messages requested again per round.")
    reconcile_max_re_requests: int = Field(
        default=3, ge=1, description="Times a message is requested again before it is given up (logged and counted)."
    )
    history_days: int = Field(default=90, ge=1, description="How long contact events are kept for flow conditions.")
    history_limit: int = Field(default=500, ge=1, description="Most recent events loaded per contact.")
    message_retention_days: int = Field(
        default=180,
        ge=1,
        description="How long a message's rows (send ledger with SMTP replies, sends, requests) are kept; the "
        "daily retention pass deletes older ones.",
    )
    engagement_retention_days: int = Field(
        default=395,
        ge=1,
        description="How long per-contact engagement (each message's opens and clicks, attributed purchases, "
        "flow entries) is kept for reports; daily totals per flow step are kept.",
    )
    consent_evidence_retention_days: int = Field(
        default=1095,
        ge=1,
        description="How long the IP network and user agent of a consent ledger entry are kept; the entry itself "
        "(what was agreed, when, how) stays as long as the contact.",
    )
    retention_interval_hours: float = Field(
        default=24.0, gt=0, description="How often the retention pass runs (in the scheduler)."
    )
    scheduler_intake: bool = Field(
        default=True, description="Run the intake consumer in this process (off: a timer and relay worker only)."
    )
    scheduler_timers: bool = Field(
        default=True,
        description="Run the timer loop in this process. The outbox relay runs wherever intake or timers run; "
        "with both off, only the analytics fold (if on) and the API remain.",
    )
    scheduler_analytics: bool | None = Field(
        default=None,
        description="Run the analytics fold in this process. Unset: where intake runs. For a fold-only process "
        "set intake and timers off and this on, and set it off on the other replicas.",
    )
    analytics_fetch_max_wait_ms: int = Field(
        default=250,
        ge=1,
        le=10_000,
        description="The analytics fold's fetch wait (DRIPLINE_KAFKA_FETCH_MAX_WAIT_MS for the others): reports "
        "can be a quarter second behind, and on the embedded broker each idle fetch of its seven topics costs CPU.",
    )
    broadcast_resolve_batch: int = Field(
        default=10_000, ge=1, description="Audience members a broadcast resolves into recipients per statement."
    )
    broadcast_send_batch: int = Field(
        default=1_000, ge=1, description="Recipients of a broadcast judged and requested per transaction."
    )
    broadcast_poll_seconds: float = Field(
        default=1.0, gt=0, description="Longest sleep of the broadcast loop between looks for work."
    )
    console_sender_url: str = Field(
        default="http://127.0.0.1:8003",
        description="The sender's address inside the cluster: the console's template previews and test sends are "
        "made there, each request signed with the link signing keys.",
    )
    broadcasts_may_exceed_caps: bool = Field(
        default=False,
        description="Broadcasts may go past the workspace's frequency caps (they still count toward them, for "
        "flows' messages). Off: a capped recipient waits until the cap allows, as a flow's message does.",
    )


class SenderSettings(CommonSettings):
    """Rendering and delivery."""

    sender_host: str = "127.0.0.1"
    sender_port: int = 8003
    sender_max_body_bytes: int = Field(default=1_000_000, ge=1, description="Larger request bodies get 413.")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["require", "opportunistic", "off"] | None = Field(
        default=None,
        description="STARTTLS: `require` (a server without it gets no mail), `opportunistic` (when offered) or "
        "`off`. Unset: `require` when a username is set, else `opportunistic` (`off` if SMTP_STARTTLS is false). "
        "A password only ever goes over TLS.",
    )
    smtp_starttls: bool = Field(
        default=True, description="Older switch: false means DRIPLINE_SMTP_TLS=off while that is unset."
    )
    mail_from: str = "Dripline Demo <hello@dripline.example>"
    postal_address: str = "Dripline Demo Shop, Storgata 1, 0155 Oslo, Norway"
    dkim_private_key: SecretStr | None = Field(default=None, description="PEM private key; unset: no DKIM.")
    dkim_selector: str = "dripline"
    dkim_domain: str | None = None
    sending_domain: str | None = Field(
        default=None, description="Domain of Message-IDs and the unsubscribe mailbox. Unset: the mail_from domain."
    )
    identity_encryption_key: SecretStr = Field(
        default=SecretStr("insecure-development-identity-encryption-key"),
        description="Encrypts the workspaces' DKIM private keys in the database (`dripline domains add`); the "
        "sender and the CLI need the same value. Changing it makes stored keys unreadable: add the domains again.",
    )
    spf_include: str | None = Field(
        default=None,
        description="The SMTP relay's SPF domain, printed as `include:` in a sending domain's SPF record and "
        "checked by `dripline domains verify`. Unset: the record says `mx` (the domain's own mail servers).",
    )
    dns_nameservers: str | None = Field(
        default=None,
        description="DNS servers (`host` or `host:port`, comma-separated) that sending-domain checks ask "
        "(`dripline domains verify`, POST /v1/sending-domain/verify). Unset: the system's resolver.",
    )
    receiving_domains: str = Field(
        default="gmail: gmail.com googlemail.com 4/10; outlook: outlook.com hotmail.com live.com msn.com 4/10; "
        "yahoo: yahoo.com ymail.com aol.com 2/5; other: * -/-",
        description="Groups of receiving domains, `name: domain… connections/rate-per-second [via host:port]`, "
        "`;`-separated; `*` is everyone else, `-` no cap of the group's own (the SMTP settings still apply). Each "
        "group slows down alone when its receivers defer (4xx) and recovers gradually; `via` sends it through "
        "another relay.",
    )
    warmup_schedule: str = Field(
        default="200 500 1000 2000 5000 10000 20000 40000 80000 150000",
        description="Most emails a day from a newly added sending domain, day by day from the day it was added; "
        "past the last day no limit. What is over a day's volume waits, in order, for the next day (deferred, "
        "its reason saying so). Empty: no warm-up.",
    )
    retry_schedule: str = Field(
        default="1m 5m 30m 2h 6h", description="Waits after each deferral (4xx); past the last one, give up."
    )
    smtp_connections: int = Field(default=4, ge=1, description="Reusable SMTP connections (and sends in flight).")
    smtp_rate_per_second: float = Field(default=20.0, gt=0, description="Most messages per second to the SMTP host.")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, description="Per SMTP command.")
    stale_send_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A message claimed or in flight whose sender stopped renewing it this long (the sender "
        "died) is tried again; a live sender renews its messages every third of this.",
    )
    retry_poll_seconds: float = Field(default=1.0, gt=0, description="How often due retries are looked for.")
    sms_base_url: str = Field(
        default="http://127.0.0.1:8025/api/sms", description="SMS provider endpoint (POST JSON to, body, from)."
    )
    sms_api_key: SecretStr | None = Field(default=None, description="Bearer token for the SMS provider.")
    sms_from: str = Field(default="Dripline", description="Sender id or number of text messages.")
    webhook_signing_secret: SecretStr = Field(
        default=SecretStr("insecure-development-webhook-secret"),
        description="HMAC-SHA256 key of the X-Dripline-Signature header on webhook deliveries.",
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, description="Per webhook and link-check request.")
    webhook_attempts: int = Field(default=3, ge=1, description="Tries per webhook delivery before it fails.")
    allow_private_webhooks: bool = Field(
        default=False, description="Allow webhooks and link checks to private, loopback and link-local addresses."
    )
    link_check_interval_hours: float = Field(
        default=24.0, ge=0, description="How often live templates' links are checked (0: never, only the CLI)."
    )

    @property
    def smtp_tls_policy(self) -> Literal["require", "opportunistic", "off"]:
        if self.smtp_tls is not None:
            return self.smtp_tls
        if self.smtp_username:
            return "require"  # a downgrade (STARTTLS stripped on the way) would expose the password
        return "opportunistic" if self.smtp_starttls else "off"

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> SenderSettings:
        if self.smtp_username and self.smtp_tls_policy == "off":
            raise ValueError("DRIPLINE_SMTP_TLS=off with DRIPLINE_SMTP_USERNAME set would send the password in clear")
        return self


class TrackerSettings(CommonSettings):
    """Public links: opens, clicks, unsubscribes, preferences."""

    tracker_host: str = "127.0.0.1"
    tracker_port: int = 8004
    tracker_flush_interval_ms: int = Field(
        default=50, ge=1, description="Longest time an open or click waits in memory before going to the broker."
    )
    tracker_flush_batch: int = Field(default=1000, ge=1, description="Flush early once this many hits wait.")
    tracker_buffer_limit: int = Field(
        default=200_000, ge=1, description="Hits held while the broker is away; beyond this they are dropped."
    )
    tracker_max_body_bytes: int = Field(default=1_000_000, description="Larger request bodies (bounce mails) get 413.")
    tracker_feedback_smtp_port: int | None = Field(
        default=None,
        description="Port of the SMTP receiver for spam complaint reports (ARF) and mailto unsubscribes: the MX of "
        "the unsubscribe address and the address given to feedback loops (docs/deliverability.md). Unset: no "
        "receiver (POST /v1/bounces/dsn takes the same mail).",
    )
    confirm_token_max_age_hours: float = Field(
        default=168, gt=0, description="Sign-up confirmation links older than this answer 'expired' (400)."
    )
    resubscribe_token_max_age_hours: float = Field(
        default=168,
        gt=0,
        description="Preferences links older than this can no longer subscribe a person again (unsubscribe links "
        "never expire).",
    )


class DevStackSettings(CommonSettings):
    """The local stack that `make run` starts."""

    broker_port: int = Field(default=9092, description="Port of the local Tansu broker.")
    inbox_smtp_port: int = 2525
    inbox_http_port: int = 8025
    demo_api_key: SecretStr = Field(
        default=SecretStr("dl_demo_local_key"), description="API key of the demo workspace (local only)."
    )


@lru_cache
def common() -> CommonSettings:
    return CommonSettings()
