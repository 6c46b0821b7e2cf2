"""Settings → Kubernetes configuration: which env var each service reads, and where its value comes from.

Plain settings become ConfigMap keys (their code default, or a cluster value below); `SecretStr`
settings and connection strings with credentials become keys of the `dripline-secrets` Secret.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

from shared.settings import (
    CommonSettings,
    DevStackSettings,
    IngestSettings,
    SchedulerSettings,
    SenderSettings,
    TrackerSettings,
)

SERVICE_SETTINGS: dict[str, type[CommonSettings]] = {
    "ingest": IngestSettings,
    "scheduler": SchedulerSettings,
    "sender": SenderSettings,
    "tracker": TrackerSettings,
}
SECRET_NAME = "dripline-secrets"
COMMON_CONFIG = "dripline-common"
STRIMZI_CLUSTER = "dripline"
KAFKA_BOOTSTRAP = f"{STRIMZI_CLUSTER}-kafka-bootstrap:9092"

# Only `make run` reads these; a cluster never does.
LOCAL_ONLY = frozenset(DevStackSettings.model_fields) - frozenset(CommonSettings.model_fields)
# Not `SecretStr`, but they carry credentials (a password inside the URL, account names).
SECRET_PLAIN_FIELDS = frozenset({"database_url", "kafka_sasl_username", "smtp_username"})
# Where a cluster differs from the local defaults; everything else keeps its code default.
CLUSTER_VALUES: dict[str, str] = {
    "kafka_bootstrap_servers": KAFKA_BOOTSTRAP,
    "data_dir": "/tmp/dripline",
    "tracker_public_url": "https://links.dripline.example",
    "console_sender_url": "http://dripline-sender:8003",  # the sender's Service (workloads.py)
    "smtp_host": "smtp.dripline.example",
    "smtp_port": "587",
    "smtp_tls": "require",  # the relay's password, and the mail, never go in clear
    "environment": "production",  # the code's default too; said here so a reader of the ConfigMap sees it
    "scheduler_analytics": "false",  # the dripline-analytics Deployment runs the fold (workloads.ANALYTICS)
    **{f"{service}_host": "0.0.0.0" for service in SERVICE_SETTINGS},
}

Source = Literal["config", "optional-config", "secret", "optional-secret"]


@dataclass(frozen=True)
class Setting:
    """One environment variable a service reads, and how the cluster provides it."""

    field: str
    env: str
    source: Source
    config_map: str
    value: str | None  # ConfigMap value; None for Secret keys and unset optional settings


def env_name(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return next(choice for choice in alias.choices if isinstance(choice, str))
    if isinstance(alias, str):
        return alias
    return f"DRIPLINE_{name.upper()}"


def is_secret(field: FieldInfo) -> bool:
    return _mentions_secret(field.annotation)


def _mentions_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_mentions_secret(arg) for arg in get_args(annotation))
    return False


def config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def shared_fields() -> frozenset[str]:
    """Fields every service reads the same way: the common ones and any two services both declare."""
    seen: dict[str, int] = {}
    for settings in SERVICE_SETTINGS.values():
        for name in settings.model_fields:
            seen[name] = seen.get(name, 0) + 1
    return frozenset(CommonSettings.model_fields) | {name for name, count in seen.items() if count > 1}


def service_config_map(service: str) -> str:
    return f"dripline-{service}"


def settings_of(settings: type[CommonSettings], service: str | None) -> list[Setting]:
    """What a service (or, with None, the common part only) reads; local-stack-only fields excluded."""
    common = shared_fields()
    result: list[Setting] = []
    for name, field in settings.model_fields.items():
        if name in LOCAL_ONLY:
            continue
        config_map = COMMON_CONFIG if name in common or service is None else service_config_map(service)
        result.append(_setting(name, field, config_map))
    return result


def _setting(name: str, field: FieldInfo, config_map: str) -> Setting:
    env = env_name(name, field)
    if is_secret(field) or name in SECRET_PLAIN_FIELDS:
        # A secret with a code default has a development value: the cluster must provide its own.
        required = field.default is not None or name == "database_url"
        return Setting(name, env, "secret" if required else "optional-secret", config_map, None)
    if name in CLUSTER_VALUES:
        return Setting(name, env, "config", config_map, CLUSTER_VALUES[name])
    if field.default is None:
        return Setting(name, env, "optional-config", config_map, None)
    return Setting(name, env, "config", config_map, config_value(field.default))


def config_maps() -> dict[str, dict[str, str]]:
    """ConfigMap name → data, for the common part and each service's own settings."""
    maps: dict[str, dict[str, str]] = {COMMON_CONFIG: {}}
    for service, settings in SERVICE_SETTINGS.items():
        maps.setdefault(service_config_map(service), {})
        for setting in settings_of(settings, service):
            if setting.source == "config" and setting.value is not None:
                maps[setting.config_map][setting.env] = setting.value
    return {name: dict(sorted(data.items())) for name, data in maps.items()}


def container_env(settings: list[Setting]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A container's `envFrom` and `env`: ConfigMaps whole, Secret keys and optional settings one by one."""
    config_names = sorted({s.config_map for s in settings if s.source == "config"})
    env_from: list[dict[str, Any]] = [{"configMapRef": {"name": name}} for name in config_names]
    env: list[dict[str, Any]] = []
    for setting in sorted(settings, key=lambda s: s.env):
        if setting.source in ("secret", "optional-secret"):
            ref: dict[str, Any] = {"name": SECRET_NAME, "key": setting.env}
            if setting.source == "optional-secret":
                ref["optional"] = True
            env.append({"name": setting.env, "valueFrom": {"secretKeyRef": ref}})
        elif setting.source == "optional-config":
            optional = {"name": setting.config_map, "key": setting.env, "optional": True}
            env.append({"name": setting.env, "valueFrom": {"configMapKeyRef": optional}})
    return env_from, env


def secret_keys() -> dict[str, bool]:
    """Every key of `dripline-secrets` → whether some service requires it."""
    keys: dict[str, bool] = {}
    for service, settings in SERVICE_SETTINGS.items():
        for setting in settings_of(settings, service):
            if setting.source in ("secret", "optional-secret"):
                keys[setting.env] = keys.get(setting.env, False) or setting.source == "secret"
    return dict(sorted(keys.items()))
