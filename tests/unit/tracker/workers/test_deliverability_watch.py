"""Each workspace's busiest receiving domains get their own series; the rest are summed as `other`."""

from __future__ import annotations

from services.tracker.workers.deliverability_watch import busiest
from shared.deliverability import DomainDay


def test_the_busiest_domains_stay_and_the_rest_are_summed_per_workspace() -> None:
    days = [
        DomainDay("a", "small.example", 1, 0, 0, 1),
        DomainDay("a", "gmail.com", 90, 2, 1, 0),
        DomainDay("a", "tiny.example", 2, 1, 0, 0),
        DomainDay("b", "yahoo.com", 5, 0, 0, 0),
    ]
    assert busiest(days, keep=1) == [
        DomainDay("a", "gmail.com", 90, 2, 1, 0),
        DomainDay("b", "yahoo.com", 5, 0, 0, 0),
        DomainDay("a", "other", 3, 1, 0, 1),
    ]
