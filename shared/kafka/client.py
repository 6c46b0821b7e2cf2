"""Connection settings for aiokafka clients, from CommonSettings (plaintext, TLS, SASL)."""

from __future__ import annotations

import ssl
from typing import Any

from shared.errors import ConfigurationError
from shared.settings import CommonSettings


def bootstrap_servers(settings: CommonSettings) -> str:
    if not settings.kafka_bootstrap_servers:
        raise ConfigurationError(
            "KAFKA_BOOTSTRAP_SERVERS is not set: start the local stack with `make run`, or point it at a broker"
        )
    return settings.kafka_bootstrap_servers


def client_options(settings: CommonSettings) -> dict[str, Any]:
    """Options every aiokafka client (producer, consumer, admin) is built with."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        password = settings.kafka_sasl_password
        options["sasl_plain_password"] = password.get_secret_value() if password else None
    return options
