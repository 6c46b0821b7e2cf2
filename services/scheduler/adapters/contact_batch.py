"""What flows read about many contacts at once: views, enrollments and send ledgers of a whole batch.

A consumer batch or a timer batch touches hundreds of contacts; reading them one by one costs a
round trip per query per contact. These read the same rows for every contact of the batch in a
fixed number of queries. Callers hold the contacts' locks, so the rows stay true until commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import orjson

from services.scheduler.adapters.facts import load_facts
from services.scheduler.adapters.records import contact_view
from services.scheduler.adapters.stored_state import state_of
from services.scheduler.domain import ContactView, EnrollmentState, Event, SentMessage
from shared.consent import store as consent
from shared.identity import identifier_hash

Key = tuple[str, str]  # (workspace, contact)

# Strongest first: what a suppression row says about the address.
_SUPPRESSION_ORDER = ("erased", "bounced", "complained", "unsubscribed")
_KEYS = "unnest($1::text[], $2::text[]) AS k(w, c)"
# Each contact's rows are looked up by key (`LATERAL ... OFFSET 0`, which the planner cannot flatten into a
# join): a plain join lets it hash a scan of the whole table instead, its choice once a table holds some
# tens of thousands of rows, and then every batch reads every contact's rows. The views themselves (with
# the subscriptions) are the consent store's `CONTACT_VIEWS`.
_HISTORY = f"""
SELECT k.w, k.c, h.event_id, h.type, h.occurred_at, h.message_id, h.machine, h.data FROM {_KEYS}
CROSS JOIN LATERAL (
    SELECT event_id, type, occurred_at, message_id, machine, data FROM contact_history
    WHERE workspace_id = k.w AND contact_id = k.c AND occurred_at >= $3
    ORDER BY occurred_at DESC LIMIT $4
) AS h
"""
_ENROLLMENTS = f"""
SELECT k.w AS workspace_id, k.c AS contact_id, e.enrollment_id, e.flow_id, e.flow_version, e.number,
       e.entered_at, e.active, e.state
FROM {_KEYS} CROSS JOIN LATERAL (
    SELECT id AS enrollment_id, flow_id, flow_version, number, entered_at, active,
           CASE WHEN active THEN state END AS state
    FROM enrollments WHERE workspace_id = k.w AND contact_id = k.c OFFSET 0
) AS e
ORDER BY e.entered_at, e.enrollment_id
"""
_LEDGERS = f"""
SELECT k.w AS workspace_id, k.c AS contact_id, s.sent_at, s.channel, s.category, s.flow_id
FROM {_KEYS} CROSS JOIN LATERAL (
    SELECT sent_at, channel, category, flow_id FROM contact_sends
    WHERE workspace_id = k.w AND contact_id = k.c AND sent_at >= $3 OFFSET 0
) AS s
ORDER BY s.sent_at
"""


@dataclass
class Enrolled:
    """One of a contact's enrollments: the state only while it is live (ended ones are read for entry rules)."""

    id: str
    flow_id: str
    entered_at: datetime
    active: bool
    state: EnrollmentState | None


def _columns(keys: Sequence[Key]) -> tuple[list[str], list[str]]:
    return [k[0] for k in keys], [k[1] for k in keys]


async def load_views(
    connection: asyncpg.Connection,
    keys: Sequence[Key],
    now: datetime,
    *,
    days: int,
    limit: int,
    with_history: bool = True,
) -> dict[Key, ContactView]:
    """Each contact as `load_contact` would see it, in three queries for the whole batch; without their
    recent history when `with_history` is false (for conditions that call no `history.` helper)."""
    if not keys:
        return {}
    columns = _columns(keys)
    rows = await consent.contact_views(connection, *columns)
    history: dict[Key, list[Event]] = {}
    found = await connection.fetch(_HISTORY, *columns, now - timedelta(days=days), limit) if with_history else []
    for row in found:
        event = Event(
            id=row["event_id"], type=row["type"], at=row["occurred_at"], data=orjson.loads(row["data"]),
            message_id=row["message_id"], machine=row["machine"],
        )  # fmt: skip
        history.setdefault((row["w"], row["c"]), []).append(event)
    profiles = {(row["w"], row["c"]): dict(orjson.loads(row["profile"])) if row["profile"] else {} for row in rows}
    hashes = {
        key: identifier_hash(key[0], "email", profile["email"])
        for key, profile in profiles.items()
        if profile.get("email")
    }
    reasons: dict[tuple[str, bytes], set[str]] = {}
    if hashes:
        found = await consent.suppression_reasons_among(
            connection, sorted({k[0] for k in hashes}), sorted(set(hashes.values()))
        )
        for row in found:
            reason = row["reason"] if row["reason"] in _SUPPRESSION_ORDER else "unsubscribed"
            reasons.setdefault((row["workspace_id"], row["address_hash"]), set()).add(reason)
    facts = await load_facts(connection, [(row["w"], row["c"]) for row in rows], now)
    views: dict[Key, ContactView] = {}
    for row in rows:
        key = (row["w"], row["c"])
        found_reasons = reasons.get((key[0], hashes[key]), set()) if key in hashes else set()
        views[key] = contact_view(
            key[0], key[1], profiles[key], signed_up_at=row["signed_up_at"],
            history=tuple(reversed(history.get(key, ()))),
            suppression=next((r for r in _SUPPRESSION_ORDER if r in found_reasons), None),
            subscriptions=orjson.loads(row["subscriptions"]) if row["subscriptions"] else {},
            segments=frozenset(row["segments"] or ()), facts=facts.get(key),
        )  # fmt: skip
    return views


async def load_enrollments(connection: asyncpg.Connection, keys: Sequence[Key]) -> dict[Key, list[Enrolled]]:
    """Every enrollment of these contacts, oldest first; live ones with their state."""
    found: dict[Key, list[Enrolled]] = {key: [] for key in keys}
    if not keys:
        return found
    for row in await connection.fetch(_ENROLLMENTS, *_columns(keys)):
        state = state_of(row) if row["state"] else None
        enrolled = Enrolled(row["enrollment_id"], row["flow_id"], row["entered_at"], row["active"], state)
        found[(row["workspace_id"], row["contact_id"])].append(enrolled)
    return found


async def load_ledgers(
    connection: asyncpg.Connection, keys: Sequence[Key], since: datetime
) -> dict[Key, list[SentMessage]]:
    """Each contact's messages requested since `since`, oldest first."""
    found: dict[Key, list[SentMessage]] = {key: [] for key in keys}
    if not keys:
        return found
    for row in await connection.fetch(_LEDGERS, *_columns(keys), since):
        sent = SentMessage(at=row["sent_at"], channel=row["channel"], category=row["category"], flow_id=row["flow_id"])
        found[(row["workspace_id"], row["contact_id"])].append(sent)
    return found


_SENDS = """
INSERT INTO contact_sends (message_id, workspace_id, contact_id, sent_at, channel, category, flow_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[])
ON CONFLICT DO NOTHING
"""


async def record_sends(connection: asyncpg.Connection, sends: Sequence[tuple[str, str, str, SentMessage]]) -> None:
    """(message id, workspace, contact, message) rows of the send ledger in one statement; repeats are ignored."""
    if sends:
        await connection.execute(
            _SENDS,
            *(
                list(column)
                for column in zip(
                    *((m, w, c, s.at, s.channel, s.category, s.flow_id) for m, w, c, s in sends), strict=True
                )
            ),
        )
