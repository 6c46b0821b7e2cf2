"""A key's requests: a burst at once, then the rate; a refused request spends nothing and says how long to wait."""

from __future__ import annotations

import pytest

from shared.rate_limits import (
    HOLD_SECONDS,
    LeasedBuckets,
    LocalBucketStore,
    RateLimit,
    TokenBuckets,
    lease_size,
    retry_after,
)


def test_a_burst_goes_at_once_then_the_rate_applies() -> None:
    buckets, limit = TokenBuckets(), RateLimit(per_second=2.0, burst=3)
    assert [buckets.take("key", limit, now=10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("key", limit, now=10.0) == pytest.approx(0.5)
    assert buckets.take("key", limit, now=10.25) == pytest.approx(0.25)  # the refusal spent nothing
    assert buckets.take("key", limit, now=10.5) == 0.0
    assert buckets.take("key", limit, now=10.5) > 0


def test_keys_have_buckets_of_their_own() -> None:
    buckets, limit = TokenBuckets(), RateLimit(per_second=1.0, burst=1)
    assert buckets.take("a", limit, now=0.0) == 0.0
    assert buckets.take("a", limit, now=0.0) > 0
    assert buckets.take("b", limit, now=0.0) == 0.0


def test_an_idle_bucket_fills_up_to_its_burst_only() -> None:
    buckets, limit = TokenBuckets(), RateLimit(per_second=100.0, burst=2)
    buckets.take("key", limit, now=0.0)
    assert [buckets.take("key", limit, now=3600.0) for _ in range(3)][2] > 0


def test_past_its_size_the_table_starts_over_instead_of_growing() -> None:
    buckets, limit = TokenBuckets(max_names=2), RateLimit(per_second=1.0, burst=1)
    for name in ("a", "b", "c"):
        buckets.take(name, limit, now=0.0)
    assert len(buckets._buckets) <= 2  # noqa: SLF001 - the bound is the point


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert [retry_after(s) for s in (0.01, 1.0, 1.2)] == ["1", "1", "2"]


@pytest.mark.parametrize(("per_second", "burst"), [(0.0, 1), (-1.0, 5), (1.0, 0)])
def test_a_limit_that_would_refuse_everything_is_refused(per_second: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimit(per_second, burst)


class Counted(LocalBucketStore):
    """The shared store on a clock the test moves, counting the round trips replicas make to it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.trips = 0
        self.reachable = True
        super().__init__(clock=lambda: self.now)

    async def lease(self, name: str, limit: RateLimit, want: int) -> tuple[int, float] | None:
        self.trips += 1
        return await super().lease(name, limit, want) if self.reachable else None


async def _admitted(replica: LeasedBuckets, limit: RateLimit, now: float, requests: int) -> int:
    return sum([await replica.take("key", limit, now) == 0.0 for _ in range(requests)])


async def test_two_replicas_together_admit_no_more_than_the_limit() -> None:
    store, limit = Counted(), RateLimit(per_second=100.0, burst=50)
    first, second = LeasedBuckets(store), LeasedBuckets(store)
    admitted = 0
    for tick in range(100):  # one second, in steps of 10 ms, both replicas flooded
        store.now = tick / 100
        admitted += await _admitted(first, limit, store.now, 20) + await _admitted(second, limit, store.now, 20)
    assert 50 + 100 - 2 * lease_size(limit) <= admitted <= 50 + 100  # the burst, then the rate, for both together
    assert store.trips < admitted  # a lease serves several requests


async def test_a_replica_asks_the_store_once_per_lease_not_per_request() -> None:
    store, limit = Counted(), RateLimit(per_second=1000.0, burst=1000)
    replica = LeasedBuckets(store)
    assert await _admitted(replica, limit, 0.0, 500) == 500
    assert store.trips == 500 // lease_size(limit) == 5


async def test_a_refused_replica_waits_without_asking_the_store_again() -> None:
    store, limit = Counted(), RateLimit(per_second=1.0, burst=1)
    replica = LeasedBuckets(store)
    assert await replica.take("key", limit, 0.0) == 0.0
    assert await replica.take("key", limit, 0.0) == pytest.approx(1.0)
    trips = store.trips
    assert await replica.take("key", limit, 0.5) == pytest.approx(0.5)
    assert store.trips == trips
    store.now = 1.0
    assert await replica.take("key", limit, 1.0) == 0.0


async def test_tokens_leased_but_not_spent_in_time_are_dropped() -> None:
    store, limit = Counted(), RateLimit(per_second=100.0, burst=10)
    replica = LeasedBuckets(store)
    assert await replica.take("key", limit, 0.0) == 0.0  # leased 10, spent 1
    store.now = HOLD_SECONDS + 0.5
    trips = store.trips
    assert await replica.take("key", limit, store.now) == 0.0
    assert store.trips == trips + 1  # the nine left were dropped, a new lease was taken


async def test_without_the_store_each_replica_counts_on_its_own() -> None:
    store, limit = Counted(), RateLimit(per_second=1.0, burst=2)
    store.reachable = False
    replica = LeasedBuckets(store)
    assert [await replica.take("key", limit, 0.0) for _ in range(3)][:2] == [0.0, 0.0]
    assert await replica.take("key", limit, 0.0) > 0
