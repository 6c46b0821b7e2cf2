"""Delivery by receiving-domain group: each group (Gmail, Outlook, Yahoo, everyone else) has its own
sends in flight, its own rate, its own slow-down after deferrals, and optionally its own relay.

A message is admitted before it is attempted: it gets a start time in its group's pace, or, when
that is further off than `HOLD_AFTER_SECONDS`, it is held (not attempted) so a slowed group never
keeps the batch, and other groups' mail, waiting. The pace is per process, in memory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from prometheus_client import Counter, Gauge

from services.sender.adapters.smtp import SmtpRelay, SmtpReply
from services.sender.domain.receiving_domains import DomainGroup, Pace, group_of

log = structlog.get_logger(__name__)

# A message whose group's next slot is further off than this waits in the ledger instead of in memory.
HOLD_AFTER_SECONDS = 2.0
RATE = Gauge(
    "dripline_sender_receiving_domain_rate",
    "Emails a second a receiving-domain group may get now, below its setting while slowed (0: no cap of its own)",
    ["group"],
)
HELD = Counter(
    "dripline_sender_held_for_pace",
    "Emails held in the ledger: their receiving-domain group's next slot was too far",
    ["group"],
)


@dataclass(frozen=True, slots=True)
class Slot:
    """An admitted message's start time (monotonic) in its group."""

    group: str
    start: float


@dataclass(frozen=True, slots=True)
class Held:
    group: str
    wait_seconds: float
    reason: str


class _Lane:
    def __init__(self, group: DomainGroup, relay: SmtpRelay) -> None:
        self.group, self.relay = group, relay
        self.pace = Pace(group.rate_per_second)
        self.in_flight = asyncio.Semaphore(group.connections) if group.connections else None


class DomainPacing:
    """The relays by group; `relay_for` builds the one a group names with `via` (the default one otherwise)."""

    def __init__(
        self,
        groups: tuple[DomainGroup, ...],
        default: SmtpRelay,
        relay_for: Callable[[str, int], SmtpRelay],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.groups, self.default, self._clock = groups, default, clock
        self._lanes = {g.name: _Lane(g, relay_for(*g.via) if g.via else default) for g in groups}
        for lane in self._lanes.values():
            RATE.labels(lane.group.name).set(lane.pace.rate or 0)

    def admit(self, recipient: str) -> Slot | Held:
        """A start time for a message to `recipient`, reserved in its group's pace, or why it waits."""
        lane = self._lanes[group_of(self.groups, recipient).name]
        now = self._clock()
        wait = lane.pace.wait(now)
        if wait > HOLD_AFTER_SECONDS:
            rate = f"{lane.pace.rate:.2g}/s" if lane.pace.rate is not None else "its rate"
            why = "slowed after its receivers deferred" if lane.pace.slowed else "at its rate"
            HELD.labels(lane.group.name).inc()
            return Held(lane.group.name, wait, f"held: {lane.group.name} is {why} ({rate}); next try in {wait:.0f}s")
        return Slot(lane.group.name, lane.pace.reserve(now))

    async def send(self, slot: Slot, mail_from: str, to: str, data: bytes) -> SmtpReply:
        """Wait for the slot, then send within the group's cap; a 4xx slows the group, 2xx lets it recover."""
        lane = self._lanes[slot.group]
        delay = slot.start - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)
        if lane.in_flight is None:
            reply = await lane.relay.send(mail_from, to, data)
        else:
            async with lane.in_flight:
                reply = await lane.relay.send(mail_from, to, data)
        if 400 <= reply.code < 500:
            lane.pace.deferred(self._clock())
            log.info("receiving_domain.slowed", group=slot.group, rate=lane.pace.rate, reply=reply.text[:200])
        elif 200 <= reply.code < 300:
            lane.pace.accepted()
        RATE.labels(slot.group).set(lane.pace.rate or 0)
        return reply

    def pace(self, group: str) -> Pace:
        return self._lanes[group].pace

    async def close(self) -> None:
        for relay in {id(lane.relay): lane.relay for lane in self._lanes.values()}.values():
            await relay.close()
