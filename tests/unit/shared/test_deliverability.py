"""A day's rates per receiving domain, and the warning at Gmail and Yahoo's complaint limit."""

from __future__ import annotations

from shared.deliverability import DomainDay


def test_a_complaint_rate_at_the_limit_warns_and_one_below_does_not() -> None:
    at_limit = DomainDay("shop", "gmail.com", sent=1000, bounced=5, complained=3, unsubscribed=9)
    below = DomainDay("shop", "gmail.com", sent=1001, bounced=5, complained=3, unsubscribed=9)
    assert at_limit.complaint_rate == 0.003
    assert at_limit.warnings() == ["complaints 0.30% of 1000 sent: Gmail and Yahoo ask for under 0.3%"]
    assert below.warnings() == []


def test_complaints_on_a_day_without_sends_warn_and_rates_are_unknown() -> None:
    quiet = DomainDay("shop", "yahoo.com", sent=0, bounced=0, complained=1, unsubscribed=2)
    assert quiet.rate(quiet.unsubscribed) is None
    assert quiet.warnings() == ["complaints no mail sent today: Gmail and Yahoo ask for under 0.3%"]
    assert DomainDay("shop", "yahoo.com", 0, 0, 0, 0).warnings() == []
