"""Token buckets by name (an API key, a workspace's test sends).

`TokenBuckets` live in one process's memory: with N replicas a name gets up to N times its rate.
`LeasedBuckets` hold for every replica together: the bucket is a row of PostgreSQL
(`shared/rate_limit_store.py`), and a replica leases a few tokens at a time (a tenth of a second's
worth, at least one) and spends them from memory, so most requests cost a dict lookup and only one
in a batch waits for the database. Together the replicas never admit more than the bucket gives;
tokens a replica leased but did not spend within a second are dropped, never spent late.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`per_second` on average, up to `burst` at once (a bucket of `burst` tokens refilled at `per_second`)."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.per_second > 0 and self.burst >= 1):
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")


class TokenBuckets:
    """One bucket per name. Past `max_names` every bucket starts over full: lenient for a moment, bounded in memory."""

    def __init__(self, max_names: int = 100_000) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # name → (tokens, when counted)
        self._max = max_names

    def take(self, name: str, limit: RateLimit, now: float) -> float:
        """Spend a token: 0.0 when there was one, else the seconds until there will be (nothing spent)."""
        tokens, then = self._buckets.get(name, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - then) * limit.per_second)
        if tokens < 1.0:
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / limit.per_second
        if len(self._buckets) >= self._max and name not in self._buckets:
            self._buckets.clear()
        self._buckets[name] = (tokens - 1.0, now)
        return 0.0


def retry_after(seconds: float) -> str:
    """The `Retry-After` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


LEASE_SECONDS = 0.1  # a lease holds about this much of a name's rate
HOLD_SECONDS = 1.0  # leased tokens not spent by then are dropped
_MIN_WAIT = 0.001  # an empty bucket is asked again after at least this long
_WHOLE = 1e-9  # a token refilled to 0.9999999… by float arithmetic counts as whole


def lease_size(limit: RateLimit) -> int:
    """Tokens to lease at once: a tenth of a second's worth, at least one, at most the burst."""
    return max(1, min(limit.burst, int(limit.per_second * LEASE_SECONDS)))


class BucketStore(Protocol):
    async def lease(self, name: str, limit: RateLimit, want: int) -> tuple[int, float] | None:
        """Take up to `want` tokens: (how many were taken, the tokens the bucket held before);
        None when the store cannot be reached."""
        ...


class LocalBucketStore:
    """A `BucketStore` in this process's memory, on its monotonic clock: one process's count, for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # name → (tokens, when counted)
        self._clock = clock

    async def lease(self, name: str, limit: RateLimit, want: int) -> tuple[int, float] | None:
        now = self._clock()
        tokens, then = self._buckets.get(name, (float(limit.burst), now))
        held = min(float(limit.burst), tokens + (now - then) * limit.per_second)
        granted = min(want, math.floor(held + _WHOLE))
        self._buckets[name] = (max(0.0, held - granted), now)
        return granted, held


@dataclass(slots=True)
class _Lease:
    tokens: int  # leased, not yet spent
    until: float  # when what is left is dropped
    refused_until: float = 0.0  # the bucket was empty: ask again only then


class LeasedBuckets:
    """Buckets shared through a `BucketStore`, spent locally. If the store cannot be reached, each
    replica falls back on its own in-memory bucket rather than refusing every request."""

    def __init__(self, store: BucketStore, max_names: int = 100_000) -> None:
        self._store = store
        self._leases: dict[str, _Lease] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._fallback = TokenBuckets(max_names)
        self._max = max_names

    def _spend(self, name: str, now: float) -> float | None:
        """0.0 when a leased token was spent, the wait when the bucket was found empty lately, else None."""
        lease = self._leases.get(name)
        if lease is None:
            return None
        if lease.tokens > 0 and now < lease.until:
            lease.tokens -= 1
            return 0.0
        return lease.refused_until - now if now < lease.refused_until else None

    async def take(self, name: str, limit: RateLimit, now: float) -> float:
        """Spend a token: 0.0 when there was one, else the seconds until there will be (nothing spent)."""
        spent = self._spend(name, now)
        if spent is not None:
            return spent
        if len(self._locks) >= self._max and name not in self._locks:
            self._locks.clear()
            self._leases.clear()
        async with self._locks.setdefault(name, asyncio.Lock()):
            spent = self._spend(name, now)  # another request may have leased while this one waited
            if spent is not None:
                return spent
            want = lease_size(limit)
            leased = await self._store.lease(name, limit, want)
            if leased is None:
                return self._fallback.take(name, limit, now)
            granted, held = leased
            if granted == 0:
                # Ask again once a whole lease has refilled: a flooded key costs a round trip per lease, not per token.
                wait = max(_MIN_WAIT, (want - held) / limit.per_second)
                self._leases[name] = _Lease(0, now, now + wait)
                return wait
            self._leases[name] = _Lease(granted - 1, now + HOLD_SECONDS)
            return 0.0
