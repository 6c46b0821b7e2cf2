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
    topic_prefix: str = Field(default="", description="Prepended to every topic name (isolates test runs).")
    topic_partitions: int = Field(default=8, ge=1, description="Partitions per topic when Dripline creates them.")
    topic_replication_factor: int = Field(default=1, ge=1)
    db_pool_size: int = Field(default=10, ge=1, description="Connections per service process.")
    data_dir: Path = Field(default=Path(".dripline"), description="Local stack state (database, logs).")
    log_level: str = "INFO"
    log_json: bool = Field(default=True, description="JSON logs (set false for console-friendly lines).")
    shutdown_grace_seconds: float = Field(default=20.0, description="Time to finish in-flight work on SIGTERM.")


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


class TrackerSettings(CommonSettings):
    """Public links: opens, clicks, unsubscribes, preferences."""

    tracker_host: str = "127.0.0.1"
    tracker_port: int = 8004
    tracker_public_url: str = Field(default="http://127.0.0.1:8004", description="Base URL in emails.")
    link_signing_keys: SecretStr = Field(
        default=SecretStr("dev:insecure-development-key-change-me"),
        description="Comma-separated `kid:secret` pairs; the first signs, all verify (rotation).",
    )


class DevStackSettings(CommonSettings):
    """The local stack that `make run` starts."""

    inbox_smtp_port: int = 2525
    inbox_http_port: int = 8025
    demo_api_key: SecretStr = Field(
        default=SecretStr("dl_demo_local_key"), description="API key of the demo workspace (local only)."
    )


@lru_cache
def common() -> CommonSettings:
    return CommonSettings()
