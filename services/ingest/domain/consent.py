"""What a sign-up's consent means: ledger entries, subscription states, and whether to ask for confirmation.

Pure: the workspace's double opt-in setting and the time come in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.contract.shop import Consent

ALL_MARKETING = "*"


@dataclass(frozen=True)
class LedgerEntry:
    action: str  # grant | withdraw | confirm | expire
    scope: str
    source: str
    occurred_at: datetime
    ip: str | None = None
    user_agent: str | None = None
    policy_version: str | None = None
    origin: str | None = None  # the form or page, e.g. newsletter-form


@dataclass(frozen=True)
class ConsentOutcome:
    entries: list[LedgerEntry]
    subscriptions: dict[str, str]  # topic → pending | subscribed
    expires_at: datetime | None
    ask_for_confirmation: bool


@dataclass(frozen=True)
class DoubleOptIn:
    enabled: bool = True
    expires_after: timedelta = timedelta(days=7)


def signup_consent(
    consent: Consent, *, source: str, occurred_at: datetime, rule: DoubleOptIn, origin: str | None = None
) -> ConsentOutcome:
    """Marketing consent given at sign-up: subscribed at once, or pending until the address is confirmed."""
    if not consent.marketing:
        return ConsentOutcome([], {}, None, ask_for_confirmation=False)
    scopes = [ALL_MARKETING, *sorted(set(consent.topics))]
    entries = [
        LedgerEntry("grant", scope, source, occurred_at, consent.ip, consent.user_agent, consent.policy_version, origin)
        for scope in scopes
    ]
    status = "pending" if rule.enabled else "subscribed"
    expires_at = occurred_at + rule.expires_after if rule.enabled else None
    return ConsentOutcome(entries, dict.fromkeys(scopes, status), expires_at, ask_for_confirmation=rule.enabled)


def double_opt_in_rule(workspace_settings: dict[str, object]) -> DoubleOptIn:
    """Workspace settings: `double_opt_in` (default on) and `double_opt_in_expiry_hours` (default 168)."""
    enabled = workspace_settings.get("double_opt_in", True)
    hours = workspace_settings.get("double_opt_in_expiry_hours", 168)
    return DoubleOptIn(bool(enabled), timedelta(hours=float(hours)))  # type: ignore[arg-type]
