"""Which messages a sender holds: a message in two overlapping attempts is held until both let go."""

from __future__ import annotations

from typing import cast

from services.sender.adapters.ledger import SendLedger
from services.sender.workers.leases import Leases


class RenewingLedger:
    def __init__(self) -> None:
        self.renewed: list[list[str]] = []

    async def renew(self, message_ids: list[str]) -> int:
        self.renewed.append(sorted(message_ids))
        return len(message_ids)


async def test_a_message_stays_held_until_every_holder_released_it() -> None:
    ledger = RenewingLedger()
    leases = Leases(cast(SendLedger, ledger), stale_after_seconds=3.0)
    leases.hold(["m-1", "m-2"])
    leases.hold(["m-2"])  # the retry loop took it up too
    leases.release(["m-1", "m-2"])
    assert await leases.renew() == 1
    leases.release(["m-2"])
    assert await leases.renew() == 0
    assert ledger.renewed == [["m-2"]]  # nothing held: no statement at all
