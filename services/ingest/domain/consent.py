"""What a sign-up's consent means: ledger entries, subscription states, and whether to ask for confirmation.

Pure: the workspace's double opt-in setting and the time come in as arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.consent.channels import consent_scopes
from shared.contract.shop import ConsentGiven


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
    text_shown: str | None = None  # the consent wording the person saw


LedgerRow = tuple[str, str, str, str, str, str | None, str | None, str | None, datetime, str, str | None, str | None]


def ledger_row(workspace_id: str, contact_id: str, event_id: str, entry: LedgerEntry) -> LedgerRow:
    """The consent ledger's columns for one entry; the dedupe key makes a retried event write it once."""
    return (
        workspace_id,
        contact_id,
        entry.action,
        entry.scope,
        entry.source,
        entry.ip,
        entry.user_agent,
        entry.policy_version,
        entry.occurred_at,
        f"{event_id}:{entry.action}:{entry.scope}",
        entry.origin,
        entry.text_shown,
    )


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
    consent: ConsentGiven, *, source: str, occurred_at: datetime, rule: DoubleOptIn, origin: str | None = None
) -> ConsentOutcome:
    """Marketing consent given at sign-up: subscribed at once, or pending until the address is confirmed.

    Each channel is its own grant (`*`, `channel:email`, …, then the topics); no channels named means email."""
    scopes = consent_scopes(consent.marketing, consent.channels, consent.topics)
    if not scopes:
        return ConsentOutcome([], {}, None, ask_for_confirmation=False)
    evidence = (consent.ip, consent.user_agent, consent.policy_version, origin, consent.text_shown)
    entries = [LedgerEntry("grant", scope, source, occurred_at, *evidence) for scope in scopes]
    status = "pending" if rule.enabled else "subscribed"
    expires_at = occurred_at + rule.expires_after if rule.enabled else None
    return ConsentOutcome(entries, dict.fromkeys(scopes, status), expires_at, ask_for_confirmation=rule.enabled)


def double_opt_in_rule(workspace_settings: dict[str, object]) -> DoubleOptIn:
    """Workspace settings: `double_opt_in` (default on) and `double_opt_in_expiry_hours` (default 168)."""
    enabled = workspace_settings.get("double_opt_in", True)
    hours = workspace_settings.get("double_opt_in_expiry_hours", 168)
    return DoubleOptIn(bool(enabled), timedelta(hours=float(hours)))  # type: ignore[arg-type]


# (workspace, contact, topic): one subscription.
SubscriptionKey = tuple[str, str, str]


@dataclass(frozen=True)
class SubscriptionRow:
    key: SubscriptionKey
    status: str
    expires_at: datetime | None


def subscription_rows(
    outcomes: Sequence[tuple[str, str, ConsentOutcome | None]],
) -> tuple[list[SubscriptionRow], list[set[SubscriptionKey]]]:
    """One row per subscription for a group's (workspace, contact, outcome)s, and per event what it leaves pending.

    As if the events ran one after another: a subscribed state is never set back, so once an
    event of the group subscribes a topic, later events change nothing there. An event asks for
    confirmation when one of its pending subscriptions turns out to have changed in the table.
    """
    rows: dict[SubscriptionKey, SubscriptionRow] = {}
    pending: list[set[SubscriptionKey]] = []
    for workspace_id, contact_id, outcome in outcomes:
        sets_pending: set[SubscriptionKey] = set()
        for topic, status in outcome.subscriptions.items() if outcome else ():
            key = (workspace_id, contact_id, topic)
            earlier = rows.get(key)
            if earlier is not None and earlier.status == "subscribed":
                continue
            rows[key] = SubscriptionRow(key, status, outcome.expires_at if outcome else None)
            if status == "pending":
                sets_pending.add(key)
        pending.append(sets_pending)
    return list(rows.values()), pending
