"""Consent per channel: email, SMS, post and web tracking are separate grants.

Nordic and EU marketing law asks for consent to email and to SMS marketing separately, and a
letter or a tracked visit is another thing again; so a contact's subscriptions hold a row per
channel (`channel:email`, `channel:sms`, …) beside `*` (marketing as a whole, the switch that
"unsubscribe from everything" turns off) and the topics. Marketing on a channel needs `*` and that
channel's row. A plain marketing consent (no channels named) means email only: a contact whose
rows name no email grant but hold `*` may be emailed, and nothing else.

Pure: the services pass in the contact's subscriptions (scope → status).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, get_args

ConsentChannel = Literal["email", "sms", "post", "web"]
CONSENT_CHANNELS: tuple[ConsentChannel, ...] = get_args(ConsentChannel)
PREFIX = "channel:"
ALL_MARKETING = "*"
# What a plain marketing consent (a sign-up or import naming no channel) grants.
PLAIN_MARKETING: tuple[ConsentChannel, ...] = ("email",)
LABELS: dict[ConsentChannel, str] = {"email": "email", "sms": "SMS", "post": "post", "web": "web tracking"}


def channel_scope(channel: ConsentChannel) -> str:
    """The subscription and ledger scope of a channel's grant: `channel:sms`."""
    return PREFIX + channel


def scope_channel(scope: str) -> ConsentChannel | None:
    """The channel a scope grants, or None for `*` and topics."""
    name = scope.removeprefix(PREFIX)
    if scope.startswith(PREFIX) and name in CONSENT_CHANNELS:
        return name
    return None


def is_channel_scope(scope: str) -> bool:
    return scope_channel(scope) is not None


def granted_channels(marketing: bool, channels: Iterable[ConsentChannel]) -> tuple[ConsentChannel, ...]:
    """The channels a consent grants: those named, or email alone when marketing names none."""
    named = tuple(c for c in CONSENT_CHANNELS if c in set(channels))
    if named:
        return named
    return PLAIN_MARKETING if marketing else ()


def consent_scopes(marketing: bool, channels: Iterable[ConsentChannel], topics: Iterable[str]) -> list[str]:
    """Every scope a consent grants, in ledger order: `*`, its channels, its topics."""
    granted = granted_channels(marketing, channels)
    if not granted:
        return []
    return [ALL_MARKETING, *(channel_scope(c) for c in granted), *sorted(set(topics))]


def channel_status(subscriptions: Mapping[str, str], channel: ConsentChannel) -> str | None:
    """The contact's status for marketing on `channel` (None: never asked).

    Email falls back on `*` when no email row exists: a grant made before consent was per channel, or
    made without naming channels, is an email grant."""
    status = subscriptions.get(channel_scope(channel))
    if status is None and channel in PLAIN_MARKETING:
        return subscriptions.get(ALL_MARKETING)
    return status


def channel_refusal(subscriptions: Mapping[str, str], channel: ConsentChannel) -> str | None:
    """Why marketing on `channel` may not go (the `*` switch is judged elsewhere), or None."""
    label = LABELS[channel]
    match channel_status(subscriptions, channel):
        case "subscribed":
            return None
        case "pending":
            return f"{label} consent awaiting confirmation"
        case "unsubscribed":
            return f"contact withdrew {label} consent"
        case "expired":
            return f"confirmation of {label} consent expired"
        case _:
            return f"no consent to {label} marketing"


def channels_by_status(subscriptions: Mapping[str, str]) -> dict[ConsentChannel, str]:
    """Each channel's status where the contact has one (email through `*` when needed)."""
    found = {c: channel_status(subscriptions, c) for c in CONSENT_CHANNELS}
    return {c: s for c, s in found.items() if s is not None}
