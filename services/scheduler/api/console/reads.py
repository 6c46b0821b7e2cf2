"""What the console's pages show, put together from the adapters' queries (`adapters/console_reads.py`),
the flow catalog, the analytics reports and the consent store."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.scheduler.adapters import console_reads as queries
from services.scheduler.analytics.usecases.reports import flows_report
from services.scheduler.workers.runtime import Scheduler
from shared.consent import store as consent
from shared.customer_facts_table import load_facts
from shared.identity import IdentifierKind, identifier_hash

_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{5,}$")

_MESSAGE_MOMENTS = (("requested_at", "requested"), ("sent_at", "sent"), ("opened_at", "opened"),
                    ("clicked_at", "clicked"), ("bounced_at", "bounced"), ("suppressed_at", "held"))  # fmt: skip


@dataclass(frozen=True)
class FlowRow:
    flow_id: str
    name: str
    version: int
    paused: bool
    active: int
    entered_today: int
    entered: int
    converted: int


@dataclass(frozen=True)
class Moment:
    """One line of a person's timeline."""

    at: datetime
    kind: str  # event | message | flow
    what: str
    detail: str = ""


async def flow_rows(scheduler: Scheduler, workspace_id: str, today: date) -> list[FlowRow]:
    pool = scheduler.units.pool
    async with pool.acquire() as connection:
        heads = (await scheduler.units.catalog.heads(connection, [workspace_id])).get(workspace_id, [])
        active = await queries.active_by_flow(connection, workspace_id)
        today_rows = await queries.entered_on(connection, workspace_id, today)
    totals = {summary.flow_id: summary.counts for summary in await flows_report(pool, workspace_id)}
    return [
        FlowRow(
            head.flow_id,
            head.name,
            head.current_version,
            head.paused,
            active.get(head.flow_id, 0),
            today_rows.get(head.flow_id, 0),
            totals[head.flow_id].entered if head.flow_id in totals else 0,
            totals[head.flow_id].goal_reached if head.flow_id in totals else 0,
        )  # fmt: skip
        for head in sorted(heads, key=lambda h: h.flow_id)
    ]


def identifier_kinds(query: str) -> list[IdentifierKind]:
    """Which identifiers a search could be: an address, a phone number, else the shop's own id."""
    if "@" in query:
        return ["email"]
    if _PHONE.match(query):
        return ["phone", "external_id"]
    return ["external_id"]


async def find_contact(pool: asyncpg.Pool, workspace_id: str, query: str) -> str | None:
    """The contact an email, phone or external id names, looked up by its keyed hash; or a contact id."""
    query = query.strip()
    if not query:
        return None
    for kind in identifier_kinds(query):
        found = await queries.contact_of(pool, workspace_id, kind, identifier_hash(workspace_id, kind, query))
        if found:
            return found
    return query if await queries.profile(pool, workspace_id, query) is not None else None


@dataclass(frozen=True)
class Person:
    contact_id: str
    profile: dict[str, Any]
    created_at: datetime
    subscriptions: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    enrollments: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    timeline: list[Moment]
    facts: dict[str, Any]  # `contact.facts` as flows, segments and templates read it now


def _moments(events: list[dict[str, Any]], messages: list[dict[str, Any]], enrollments: list[dict[str, Any]],
             consents: list[dict[str, Any]], limit: int) -> list[Moment]:  # fmt: skip
    found = [Moment(e["occurred_at"], "event", e["type"], "machine" if e["machine"] else "") for e in events]
    for m in messages:
        label = m["subject"] or m["template_id"] or m["step_id"] or m["message_id"]
        for column, what in _MESSAGE_MOMENTS:
            if m[column]:
                found.append(Moment(m[column], "message", f"{m['channel'] or 'message'} {what}", label))
    for e in enrollments:
        found.append(Moment(e["entered_at"], "flow", f"entered {e['flow_id']} v{e['flow_version']}", e["status"] or ""))
    for c in consents:
        found.append(Moment(c["occurred_at"], "consent", f"consent {c['action']} ({c['scope']})", c["source"] or ""))
    return sorted(found, key=lambda moment: moment.at.astimezone(UTC), reverse=True)[:limit]


async def person(pool: asyncpg.Pool, workspace_id: str, contact_id: str, limit: int = 100) -> Person | None:
    async with pool.acquire() as connection:
        row = await queries.profile(connection, workspace_id, contact_id)
        if row is None:
            return None
        enrollments = await queries.enrollments_of(connection, workspace_id, contact_id, limit)
        messages = await queries.messages_of(connection, workspace_id, contact_id, limit)
        events = await queries.events_of(connection, workspace_id, contact_id, limit)
        subscriptions = [dict(r) for r in await consent.subscriptions_in_detail(connection, workspace_id, contact_id)]
        consents = [dict(r) for r in await consent.consent_history(connection, workspace_id, contact_id)]
        now = datetime.now(UTC)
        facts = (await load_facts(connection, [(workspace_id, contact_id)], now))[(workspace_id, contact_id)]
    profile = json.loads(row["profile"]) if isinstance(row["profile"], str) else dict(row["profile"])
    timeline = _moments(events, messages, enrollments, consents, limit)
    known = (contact_id, profile, row["created_at"], subscriptions, consents, enrollments, messages, timeline)
    return Person(*known, facts.value(now))
