"""Sending a broadcast: start it when its time comes, freeze and resolve its audience, then hand recipients
to the sender at the throttle's pace, each judged by the workspace's policy as a flow's message is.

Every step is one transaction that holds the broadcast's row lock. A recipient turns `requested` in the
transaction that writes its message request to the outbox, its send to the frequency-cap ledger and its
request to `message_requests` (asked again by reconciliation if the broker loses it), under a message id
derived from (workspace, broadcast, contact): a crash, a replay or a resumed send never asks twice, and the
sender's send ledger would drop a second ask anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from services.scheduler.adapters import broadcast_recipients as recipients
from services.scheduler.adapters.broadcasts import (
    StoredBroadcast,
    change_state,
    decided,
    frozen_at,
    lock_broadcast,
    paced,
    resolved_up_to,
)
from services.scheduler.adapters.contact_batch import load_ledgers, load_views, record_sends
from services.scheduler.adapters.records import stable_id
from services.scheduler.domain import SentMessage
from services.scheduler.domain.broadcast_pacing import (
    allowance,
    best_moment,
    domain_room,
    domain_throttled,
    judge_recipient,
)
from services.scheduler.domain.broadcasts import Broadcast, SendAt, SendAtBestTime, SendAtLocalTime
from services.scheduler.domain.local_time import as_utc, localize, zone
from services.scheduler.unit_of_work.unit import Unit, Units
from shared.contract import MessageRequested
from shared.contract.topics import MESSAGES_REQUESTED
from shared.kafka.producer import OutgoingRecord
from shared.settings import SchedulerSettings

# A best hour this close to now is now: no point waiting a minute.
_NOT_WORTH_WAITING = timedelta(minutes=1)
# A recipient whose receiving domain has had its minute's share looks again a little over a minute later.
_DOMAIN_RETRY = timedelta(seconds=61)
CAP_WINDOW = timedelta(days=35)  # the longest frequency-cap window whose sends are read
_EVENT_OF_METRIC = {"opens": "message_opened", "clicks": "message_clicked"}
# (variant, messages, successes) per variant and the metric → the winner and the evidence (the analytics
# room's significance test, wired in by the app: the scheduler's loops never import analytics).
PickWinner = Callable[[Sequence[tuple[str, int, int]], str], tuple[str, dict[str, Any]]]


def message_id(workspace_id: str, broadcast_id: str, contact_id: str) -> str:
    """The one message id a contact's copy of a broadcast ever has."""
    return stable_id("broadcast", workspace_id, broadcast_id, contact_id)


@dataclass
class Round:
    """What one step did, for the loop (and the bench) to report."""

    resolved: int = 0
    resolution_over: bool = False  # the last batch of the audience was resolved
    requested: int = 0
    held: int = 0
    deferred: int = 0
    finished: bool = False


class BroadcastSending:
    def __init__(self, units: Units, settings: SchedulerSettings, pick_winner: PickWinner | None = None) -> None:
        self._units = units
        self._settings = settings
        self._pick_winner = pick_winner

    async def step(self, workspace_id: str, broadcast_id: str) -> Round:
        """Move one broadcast on by one transaction's worth: start, resolve a batch, or send a batch."""
        done = Round()
        async with self._units.open() as unit:
            found = await lock_broadcast(unit.connection, workspace_id, broadcast_id)
            if found is None:
                return done
            if found.state == "scheduled":
                if found.starts_at is not None and found.starts_at <= unit.now:
                    await change_state(unit.connection, workspace_id, broadcast_id, "start", unit.now)
                return done
            if found.state != "sending":
                return done
            if found.resolved_at is None:
                done.resolved, done.resolution_over = await self._resolve(unit, workspace_id, found)
            elif self._test_is_over(found, unit):
                await self._decide(unit, workspace_id, found)
                done.deferred += 1
            else:
                await self._send(unit, workspace_id, found, done)
        return done

    async def _resolve(self, unit: Unit, workspace_id: str, found: StoredBroadcast) -> tuple[int, bool]:
        spec, connection = found.spec, unit.connection
        policy = await unit.policy(workspace_id)
        schedule = spec.schedule
        local: recipients.LocalMoment | None = None
        due = unit.now
        if isinstance(schedule, SendAtLocalTime | SendAtBestTime):
            day = schedule.date
            clock = schedule.time if isinstance(schedule, SendAtLocalTime) else schedule.start
            local = recipients.LocalMoment(day, timedelta(hours=clock.hour, minutes=clock.minute), policy.time_zone)
        elif isinstance(schedule, SendAt):
            due = max(unit.now, as_utc(schedule.at))
        batch = await recipients.resolve_batch(
            connection, workspace_id, spec.id, audience=spec.audience, exclude=spec.exclude_segments,
            variants=spec.templates, after=found.resolve_cursor,
            frozen_at=await frozen_at(connection, workspace_id, spec.id),
            limit=self._settings.broadcast_resolve_batch, due=due, local=local,
            sample_percent=spec.test.sample_percent if spec.test else None,
        )  # fmt: skip
        complete = batch.picked < self._settings.broadcast_resolve_batch
        ends = unit.now + spec.test.wait if spec.test and complete else None
        await resolved_up_to(connection, workspace_id, spec.id, batch.last or found.resolve_cursor, complete, ends)
        return batch.inserted, complete

    def _test_is_over(self, found: StoredBroadcast, unit: Unit) -> bool:
        ends = found.test_ends_at
        return found.spec.test is not None and found.winner is None and ends is not None and ends <= unit.now

    async def _decide(self, unit: Unit, workspace_id: str, found: StoredBroadcast) -> None:
        """Pick the test's winner from the sample's engagement and release the rest with it."""
        spec, test = found.spec, found.spec.test
        assert test is not None
        if self._pick_winner is None:
            raise RuntimeError("a test then send needs the significance test wired in (services/scheduler/app.py)")
        if test.metric == "revenue":
            tried = await recipients.tried_purchases(unit.connection, workspace_id, spec.id)
        else:
            tried = await recipients.tried(unit.connection, workspace_id, spec.id, _EVENT_OF_METRIC[test.metric])
        if tried:
            winner, evidence = self._pick_winner(tried, test.metric)
            if test.metric == "revenue":
                evidence["revenue"] = await recipients.sample_revenue(unit.connection, workspace_id, spec.id)
        else:
            winner, evidence = spec.templates[0], {"winner": spec.templates[0], "why": "no message of the sample went"}
        await decided(unit.connection, workspace_id, spec.id, winner, evidence)
        await recipients.send_winner(unit.connection, workspace_id, spec.id, winner, unit.now)

    async def _send(self, unit: Unit, workspace_id: str, found: StoredBroadcast, done: Round) -> None:
        spec, connection, now = found.spec, unit.connection, unit.now
        budget = allowance(spec.per_hour, found.tokens, found.paced_at, now, self._settings.broadcast_send_batch)
        claimed = await recipients.claim_due(connection, workspace_id, spec.id, now, budget.count)
        if not claimed and not await recipients.any_waiting(connection, workspace_id, spec.id):
            await change_state(connection, workspace_id, spec.id, "finish", now)
            done.finished = True
            return
        if not claimed:
            return  # those left are not due yet: the bucket keeps filling from its last round
        policy = await unit.policy(workspace_id)
        keys = [(workspace_id, c.contact_id) for c in claimed]
        views = await load_views(
            connection, keys, now, days=self._settings.history_days, limit=self._settings.history_limit
        )
        ledgers = await load_ledgers(connection, keys, now - CAP_WINDOW)
        room = await self._domain_room(connection, workspace_id, spec, claimed)
        outcomes: list[recipients.Outcome] = []
        sends: list[tuple[str, str, str, SentMessage]] = []
        for claim in claimed:
            view = views.get((workspace_id, claim.contact_id))
            if view is None:
                outcomes.append(recipients.Outcome(claim.contact_id, "held", "contact erased"))
                continue
            schedule = spec.schedule
            if isinstance(schedule, SendAtBestTime) and not claim.placed:
                tz = zone(view.time_zone, policy.time_zone)
                end = localize(schedule.date, schedule.end, tz)
                best = best_moment(view, now, tz, end, policy.audience_hours)
                if best - now >= _NOT_WORTH_WAITING:
                    outcomes.append(recipients.Outcome(claim.contact_id, "waiting", None, best, placed=True))
                    done.deferred += 1
                    continue
            verdict = judge_recipient(
                spec, policy, view, ledgers.get((workspace_id, claim.contact_id), []), now,
                may_exceed_caps=self._settings.broadcasts_may_exceed_caps,
            )  # fmt: skip
            if verdict.outcome == "suppress":
                outcomes.append(recipients.Outcome(claim.contact_id, "held", verdict.reason))
                done.held += 1
            elif verdict.outcome == "defer":
                outcomes.append(recipients.Outcome(claim.contact_id, "waiting", verdict.reason, verdict.until))
                done.deferred += 1
            elif room is not None and claim.domain is not None and room.get(claim.domain, 0) <= 0:
                later = now + _DOMAIN_RETRY
                outcomes.append(recipients.Outcome(claim.contact_id, "waiting", domain_throttled(claim.domain), later))
                done.deferred += 1
            else:
                if room is not None and claim.domain is not None:
                    room[claim.domain] -= 1
                mid = message_id(workspace_id, spec.id, claim.contact_id)
                unit.outgoing.append(self._request(unit, workspace_id, found, claim, mid))
                sends.append((mid, workspace_id, claim.contact_id, SentMessage(
                    at=now, channel=spec.channel, category=spec.category
                )))  # fmt: skip
                outcomes.append(recipients.Outcome(claim.contact_id, "requested", None, message_id=mid))
                done.requested += 1
        await record_sends(connection, sends)
        await recipients.settle(connection, workspace_id, spec.id, outcomes)
        await paced(connection, workspace_id, spec.id, budget.tokens - done.requested, now)

    @staticmethod
    async def _domain_room(
        connection: asyncpg.Connection, workspace_id: str, spec: Broadcast, claimed: Sequence[recipients.Claimed]
    ) -> dict[str, int] | None:
        """With a throttle per receiving domain, how many more each domain of this round may take."""
        if spec.per_domain_per_hour is None:
            return None
        domains = sorted({claim.domain for claim in claimed if claim.domain is not None})
        hour, minute = await recipients.requested_lately(connection, workspace_id, spec.id, domains)
        return domain_room(spec.per_domain_per_hour, domains, hour, minute)

    @staticmethod
    def _request(
        unit: Unit, workspace_id: str, found: StoredBroadcast, claim: recipients.Claimed, mid: str
    ) -> OutgoingRecord:
        spec = found.spec
        variables: dict[str, str] = {"variant": claim.variant} if len(spec.templates) > 1 else {}
        request = MessageRequested(
            event_id=mid, workspace_id=workspace_id, contact_id=claim.contact_id, occurred_at=unit.now,
            received_at=unit.now, channel=spec.channel, template_id=claim.variant, category=spec.category,
            topic=spec.topic, variables=variables, context={"broadcast": {"id": spec.id, "name": spec.name}},
            broadcast_id=spec.id,
        )  # fmt: skip
        return OutgoingRecord.of(MESSAGES_REQUESTED, request)
