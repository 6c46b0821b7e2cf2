"""The relay's loop: a nudge that arrives while a round is running starts another round at once."""

from __future__ import annotations

import asyncio
from typing import cast

import asyncpg

from shared.kafka.producer import Producer
from shared.outbox import OutboxRelay
from shared.workers import RestartPolicy, Supervisor


class ScriptedRelay(OutboxRelay):
    """Rounds touch no database: the first one sees a commit nudge arrive while it runs."""

    def __init__(self) -> None:
        super().__init__(cast(asyncpg.Pool, None), cast(Producer, None), poll_seconds=30.0)
        self.rounds = 0

    async def relay_once(self) -> int:
        self.rounds += 1
        await asyncio.sleep(0)
        if self.rounds == 1:
            self.notify()  # another unit committed records during this round
        return 1


async def test_a_nudge_during_a_round_is_not_lost() -> None:
    relay = ScriptedRelay()
    supervisor = Supervisor("test", RestartPolicy())
    supervisor.start("outbox-relay", relay.run, finish=relay.finish)  # as the scheduler runs it
    try:
        for _ in range(100):
            if relay.rounds >= 2:
                break
            await asyncio.sleep(0.01)
        assert relay.rounds == 2  # the second round came from the nudge, not the 30 s poll
    finally:
        await supervisor.stop("outbox-relay", grace=1.0)
