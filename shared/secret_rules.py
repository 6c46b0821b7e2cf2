"""Secrets a service will not start with outside the local stack, and fresh ones to use instead.

In `DRIPLINE_ENVIRONMENT=production` (the default; `dripline run` sets `local`) a secret setting
with a built-in development value must be set, at least `MIN_SECRET_BYTES` long and not the
built-in value; every link signing key in the ring likewise. The demo workspace's built-in API key,
which only the local stack creates, must not be live in the database.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import asyncpg
from pydantic import SecretStr

from shared.settings import (
    CommonSettings,
    DevStackSettings,
    IngestSettings,
    SchedulerSettings,
    SenderSettings,
    TrackerSettings,
)
from shared.workspaces import hash_key, mint_key

MIN_SECRET_BYTES = 32
LINK_SIGNING_KEYS = "link_signing_keys"
IDENTIFIER_KEYS = "identifier_keys"
KEY_RINGS = frozenset({LINK_SIGNING_KEYS, IDENTIFIER_KEYS})  # `kid:secret,…`: every secret is held to the rules
DEMO_API_KEY = "demo_api_key"
SERVICE_SETTINGS: tuple[type[CommonSettings], ...] = (
    IngestSettings,
    SchedulerSettings,
    SenderSettings,
    TrackerSettings,
)


class UnsafeSecret(Exception):
    """A secret a production service refuses; the message names the environment variable."""


def env_name(field: str) -> str:
    return f"DRIPLINE_{field.upper()}"


def builtin_value(settings: type[CommonSettings], field: str) -> str | None:
    """The development value a secret setting has in the code, if it has one."""
    default = settings.model_fields[field].default
    return default.get_secret_value() if isinstance(default, SecretStr) else None


def _ring_secrets(text: str) -> list[str]:
    return [item.partition(":")[2].strip() for item in text.split(",") if item.strip()]


def secret_problems(settings: CommonSettings) -> list[str]:
    """What is wrong with the secrets a production service would start with (none in `local`)."""
    if settings.environment == "local":
        return []
    problems: list[str] = []
    for field in type(settings).model_fields:
        builtin = builtin_value(type(settings), field)
        if builtin is None:
            continue  # no development value to fall back on: an unset secret is a feature left off
        value = getattr(settings, field)
        text = value.get_secret_value() if isinstance(value, SecretStr) else ""
        if field in KEY_RINGS:
            values, builtins = _ring_secrets(text), set(_ring_secrets(builtin))
        else:
            values, builtins = ([text] if text else []), {builtin}
        name = env_name(field)
        if not values:
            problems.append(f"{name} is not set")
        elif any(value in builtins for value in values):
            problems.append(f"{name} holds the built-in development value")
        elif any(len(value.encode()) < MIN_SECRET_BYTES for value in values):
            problems.append(f"{name} is shorter than {MIN_SECRET_BYTES} bytes")
    return problems


def refuse_unsafe_secrets(settings: CommonSettings) -> None:
    problems = secret_problems(settings)
    if problems:
        raise UnsafeSecret(
            "refusing to start with DRIPLINE_ENVIRONMENT=production: "
            + "; ".join(problems)
            + " (`dripline secrets generate` prints fresh values)"
        )


async def refuse_builtin_api_keys(pool: asyncpg.Pool) -> None:
    """The demo workspace's key is in the code, so anyone could use it wherever the local stack seeded it."""
    demo = builtin_value(DevStackSettings, DEMO_API_KEY)
    if demo is None:
        return
    row = await pool.fetchrow(
        "SELECT id, workspace_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", hash_key(demo)
    )
    if row is not None:
        raise UnsafeSecret(
            f"refusing to start with DRIPLINE_ENVIRONMENT=production: the built-in DRIPLINE_DEMO_API_KEY is a live "
            f"key of workspace {row['workspace_id']!r}; revoke it with `dripline keys revoke {row['id']}`"
        )


def fresh_secrets(now: datetime | None = None) -> dict[str, str]:
    """New values for every secret that has a built-in one, by environment variable.

    The link signing key's id is the date (`k250314`), so a ring shows which key is newer.
    """
    fresh: dict[str, str] = {}
    every: tuple[type[CommonSettings], ...] = (*SERVICE_SETTINGS, DevStackSettings)
    for settings in every:
        for field in settings.model_fields:
            if builtin_value(settings, field) is None or env_name(field) in fresh:
                continue
            if field in KEY_RINGS:
                value = f"k{(now or datetime.now(UTC)):%y%m%d}:{secrets.token_hex(MIN_SECRET_BYTES)}"
            elif field == DEMO_API_KEY:
                value = mint_key()
            else:
                value = secrets.token_hex(MIN_SECRET_BYTES)
            fresh[env_name(field)] = value
    return fresh
