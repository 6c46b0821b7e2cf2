"""Every setting Dripline reads, in one place.

Settings come from environment variables (and an optional `.env` file). Names are
`DRIPLINE_<FIELD>` except the two connection strings platform tools expect bare:
`DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS`. Secrets are `SecretStr`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# `.dripline/stack.env` is written by `make run`, so a service or CLI command started by hand
# finds the local stack; real environment variables always win over both files.
_CONFIG = SettingsConfigDict(env_prefix="DRIPLINE_", env_file=(".dripline/stack.env", ".env"), extra="ignore")


class CommonSettings(BaseSettings):
    """What every service needs: where the broker and database are, and how to log."""

    model_config = _CONFIG

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
    # Links in messages (clicks, unsubscribe, confirmation) are signed by the services that
    # write them and verified by the tracker, so every service shares these two.
    tracker_public_url: str = Field(default="http://127.0.0.1:8004", description="Base URL in emails.")
    link_signing_keys: SecretStr = Field(
        default=SecretStr("dev:insecure-development-key-change-me"),
        description="Comma-separated `kid:secret` pairs; the first signs, all verify (rotation).",
    )


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
    history_days: int = Field(default=90, ge=1, description="How long contact events are kept for flow conditions.")
    history_limit: int = Field(default=500, ge=1, description="Most recent events loaded per contact.")
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


class SenderSettings(CommonSettings):
    """Rendering and delivery."""

    sender_host: str = "127.0.0.1"
    sender_port: int = 8003
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=True, description="Use STARTTLS when the server offers it.")
    mail_from: str = "Dripline Demo <hello@dripline.example>"
    postal_address: str = "Dripline Demo Shop, Storgata 1, 0155 Oslo, Norway"
    dkim_private_key: SecretStr | None = Field(default=None, description="PEM private key; unset: no DKIM.")
    dkim_selector: str = "dripline"
    dkim_domain: str | None = None
    sending_domain: str | None = Field(
        default=None, description="Domain of Message-IDs and the unsubscribe mailbox. Unset: the mail_from domain."
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
