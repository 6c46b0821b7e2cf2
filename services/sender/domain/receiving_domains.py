"""Receiving domains in groups (Gmail, Outlook, Yahoo, everyone else), each with its own pace.

A group's pace slows down alone when its receivers defer (421 and other 4xx) and recovers gradually
as they accept again, additive increase after multiplicative decrease, as TCP does for congestion.
Pure: the time comes in as `now` (seconds on a monotonic clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["DomainGroup", "GroupsError", "Pace", "group_of", "parse_groups"]

EVERYONE_ELSE = "*"
# One deferral halves the rate; this many acceptances in a row give back a tenth of the configured rate.
_SLOW_FACTOR = 0.5
_RECOVER_STEP = 0.1
_RECOVER_AFTER = 5
# However slow, a group still gets a message through now and then, to find out it may speed up again.
_SLOWEST_PER_SECOND = 1 / 60
# A group without a rate of its own that defers starts slowing from this.
_UNCAPPED_START = 10.0


class GroupsError(ValueError):
    """`DRIPLINE_RECEIVING_DOMAINS` cannot be read; the message says which part."""


@dataclass(frozen=True, slots=True)
class DomainGroup:
    name: str
    domains: frozenset[str]
    connections: int | None  # sends in flight; None: only the relay's own cap
    rate_per_second: float | None
    via: tuple[str, int] | None = None  # another relay for this group


def parse_groups(text: str) -> tuple[DomainGroup, ...]:
    """`name: domain… connections/rate [via host:port]; …`; a `*` group is added when none is given."""
    groups: list[DomainGroup] = []
    for part in (item.strip() for item in text.split(";")):
        if part:
            groups.append(_group(part))
    names = [group.name for group in groups]
    if len(set(names)) != len(names):
        raise GroupsError(f"a group name appears twice: {names}")
    if not any(EVERYONE_ELSE in group.domains for group in groups):
        groups.append(DomainGroup("other", frozenset({EVERYONE_ELSE}), None, None))
    return tuple(groups)


def _group(part: str) -> DomainGroup:
    name, colon, rest = part.partition(":")
    words = rest.split()
    via: tuple[str, int] | None = None
    if len(words) >= 2 and words[-2] == "via":
        via = _host_port(words[-1], part)
        words = words[:-2]
    if not colon or not name.strip() or len(words) < 2:
        raise GroupsError(f"{part!r}: expected `name: domain… connections/rate [via host:port]`")
    connections, slash, rate = words[-1].partition("/")
    if not slash:
        raise GroupsError(f"{part!r}: the last word before `via` is connections/rate, such as 4/10 or -/-")
    return DomainGroup(
        name.strip(),
        frozenset(domain.lower().rstrip(".") for domain in words[:-1]),
        None if connections == "-" else int(_positive(connections, part, whole=True)),
        None if rate == "-" else _positive(rate, part),
        via,
    )


def _positive(text: str, part: str, *, whole: bool = False) -> float:
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        raise GroupsError(f"{part!r}: {text!r} is not a {'whole ' if whole else ''}number") from None
    if not value > 0 or not math.isfinite(value):
        raise GroupsError(f"{part!r}: {text!r} must be above 0")
    return value


def _host_port(text: str, part: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit():
        raise GroupsError(f"{part!r}: `via` takes host:port, not {text!r}")
    return host, int(port)


def group_of(groups: tuple[DomainGroup, ...], address: str) -> DomainGroup:
    """The group of an address's domain; a subdomain of a listed domain belongs to it too."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    labels = domain.split(".")
    for depth in range(len(labels) - 1):
        suffix = ".".join(labels[depth:])
        for group in groups:
            if suffix in group.domains:
                return group
    return next(group for group in groups if EVERYONE_ELSE in group.domains)


@dataclass
class Pace:
    """When the next message to a group may start, slowed by deferrals and recovering on acceptances."""

    configured: float | None  # messages a second; None: no rate of its own until it defers
    rate: float | None = None
    next_start: float = 0.0
    accepted_in_a_row: int = 0
    deferrals: int = field(default=0)
    slowed_at: float | None = None

    def __post_init__(self) -> None:
        self.rate = self.configured

    @property
    def slowed(self) -> bool:
        return self.rate is not None and self.rate < (self.configured or math.inf)

    def reserve(self, now: float) -> float:
        """The start time of one more message (now or later), and the slot taken."""
        start = max(now, self.next_start)
        if self.rate is not None:
            self.next_start = start + 1 / self.rate
        return start

    def wait(self, now: float) -> float:
        """How long a message would wait for its slot if reserved now."""
        return max(0.0, self.next_start - now)

    def deferred(self, now: float) -> None:
        """The receivers said 4xx: halve the rate, and leave a gap of one new interval from now.

        Deferrals within one interval of the last slow-down answer sends already under way at the old
        pace: they halve nothing more, so a burst of replies counts as one signal."""
        self.accepted_in_a_row = 0
        self.deferrals += 1
        if self.rate is not None and self.slowed_at is not None and now - self.slowed_at < 1 / self.rate:
            return
        current = self.rate if self.rate is not None else _UNCAPPED_START
        self.rate = max(_SLOWEST_PER_SECOND, current * _SLOW_FACTOR)
        self.slowed_at = now
        self.next_start = max(self.next_start, now + 1 / self.rate)

    def accepted(self) -> None:
        """Every few acceptances in a row give back part of the configured rate, up to it."""
        if not self.slowed:
            return
        self.accepted_in_a_row += 1
        if self.accepted_in_a_row < _RECOVER_AFTER:
            return
        self.accepted_in_a_row = 0
        assert self.rate is not None
        ceiling = self.configured if self.configured is not None else _UNCAPPED_START
        self.rate = self.rate + ceiling * _RECOVER_STEP
        if self.rate >= ceiling:
            self.rate = self.configured  # back to normal (and uncapped again if it never had a rate)
