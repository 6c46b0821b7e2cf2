"""When a segment's verdict can change with time alone, so a re-check is due then and not before.

A condition such as `contact.facts.last_purchase_at < now - duration('120d')` flips when `now`
passes an instant of the contact's plus a duration of the condition. The candidates are every such
sum (the contact's instants: facts, sign-up and recent history; the durations: the condition's own,
its history windows, and the engagement and 30-day windows the facts use); the next instant is the
first candidate just after which the verdict differs from now's. A condition without `now` or
`history` never flips by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache

import cel

from .contact import ContactView
from .contact_reads import contact_reads, narrowed
from .durations import parse_duration
from .expression_cost import DataSizes
from .expressions import ConditionScope, holds, scope
from .facts import COOLING_WITHIN, ENGAGED_WITHIN, MESSAGES_WINDOW
from .segments import Segment

# Just past a boundary: a strict comparison holds there, one with equality already held at it.
STEP = timedelta(milliseconds=1)
# Candidates tried per condition: what a contact's history and a handful of durations give.
MAX_CANDIDATES = 2000
_DURATION = re.compile(r"""duration\(\s*["']([^"']+)["']\s*\)""")
_WINDOW = re.compile(r"""["'](-?\d+[smhdw](?:\d+[smhdw])*)["']""")
_CEL_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(h|m|s|ms)$")
_CEL_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def moves_with_time(condition: str) -> bool:
    return "now" in condition or "history." in condition or "engagement" in condition


@lru_cache(maxsize=512)
def _durations(condition: str) -> frozenset[timedelta]:
    found: set[timedelta] = set()
    for text in _DURATION.findall(condition) + _WINDOW.findall(condition):
        cel = _CEL_DURATION.match(text)
        try:
            found.add(timedelta(seconds=float(cel[1]) * _CEL_UNITS[cel[2]]) if cel else abs(parse_duration(text)))
        except ValueError:
            continue
    if "engagement" in condition:
        found |= {ENGAGED_WITHIN, COOLING_WITHIN}
    if "messages_last_30d" in condition:
        found.add(MESSAGES_WINDOW)
    return frozenset(found)


def _instants(contact: ContactView) -> set[datetime]:
    facts = contact.facts
    found = {
        at
        for at in (
            facts.first_purchase_at,
            facts.last_purchase_at,
            facts.last_open_at,
            facts.last_click_at,
            facts.last_seen_at,
            contact.signed_up_at,
        )
        if at is not None
    }
    found.update(facts.recent_messages)
    found.update(event.at for event in contact.history)
    return found


def next_flip(condition: str, contact: ContactView, now: datetime, verdict: bool | None = None) -> datetime | None:
    """The first instant after `now` at which the condition's truth for this contact differs from now's
    (`verdict`, when the caller has judged it already), with nothing else changing; None when time alone
    never changes it (as far as the candidates show)."""
    if not moves_with_time(condition):
        return None
    durations = _durations(condition) | {timedelta(0)}
    candidates = sorted({at + sign * d for at in _instants(contact) for d in durations for sign in (1, -1)} - {now})
    later = [at for at in candidates if at > now][:MAX_CANDIDATES]
    if not later:
        return None
    if verdict is None:
        verdict = holds(condition, _scope(condition, contact, now))
    for at in later:
        if holds(condition, _scope(condition, contact, at + STEP)) != verdict:
            return at + STEP
    return None


def _scope(condition: str, contact: ContactView, at: datetime) -> ConditionScope:
    """The condition's scope at `at`; without the history helpers when it calls none (most of the cost)."""
    reads = contact_reads((condition,))
    if "history." in condition:
        return scope(contact, None, at, reads=reads)
    value = contact.as_expression_value(at)
    given = value if reads is None else narrowed(value, reads)
    context = cel.Context(variables={"contact": given, "event": {}, "now": at})
    return ConditionScope(context, DataSizes(given, {}, 0))


def next_check(
    segments: Iterable[Segment], contact: ContactView, now: datetime, members: frozenset[str] | None = None
) -> datetime | None:
    """When the contact's segments must be judged again with nothing else happening: the soonest flip.
    `members` are the segments judged to hold now, when known."""
    flips = [
        at
        for segment in segments
        if (at := next_flip(segment.condition, contact, now, None if members is None else segment.id in members))
        is not None
    ]
    return min(flips) if flips else None
