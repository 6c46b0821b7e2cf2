"""Sender metrics: the time to prepare a message, and each message's outcome by channel and
receiving-domain group, as the ledger records it.

The group (gmail, outlook, yahoo, other, or a group of the settings), not the raw domain, keeps the
series few: a platform alerts on a group's failure or deferral rate, and reads the domains in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Histogram

from services.sender.adapters.ledger import LedgerEntry
from services.sender.domain.eligibility import address_of
from services.sender.domain.receiving_domains import DomainGroup, group_of
from services.sender.usecases.channels.channel import Lookups

MESSAGES = Counter(
    "dripline_messages",
    "Messages settled, by channel, receiving-domain group (email only) and outcome: sent, deferred, failed, "
    "bounced, suppressed",
    ["channel", "receiving_domain", "outcome"],
)
RENDER_SECONDS = Histogram(
    "dripline_sender_render_seconds",
    "Time to prepare one message (template render, MIME, DKIM signature), by channel",
    ["channel"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
)
NO_ADDRESS = "none"  # an email with no address on file is suppressed before any domain is known


def count_outcomes(finals: Iterable[LedgerEntry], lookups: Lookups, groups: tuple[DomainGroup, ...]) -> None:
    for final in finals:
        request = final.request
        domain = ""
        if request.channel == "email":
            address = address_of(lookups.reader(request), "email")
            domain = group_of(groups, address).name if address else NO_ADDRESS
        MESSAGES.labels(request.channel, domain, final.state).inc()
