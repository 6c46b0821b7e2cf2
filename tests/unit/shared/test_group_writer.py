"""Group commit: what arrives during a write goes out in the next one, and a failed write is reported."""

from __future__ import annotations

import asyncio

import pytest

from shared.group_writer import GroupWriter


class SlowStore:
    def __init__(self, *, fail_on: int | None = None) -> None:
        self.groups: list[list[int]] = []
        self.fail_on = fail_on

    async def write(self, group: list[int]) -> list[str]:
        await asyncio.sleep(0.01)
        if self.fail_on in group:
            raise RuntimeError(f"cannot write {self.fail_on}")
        self.groups.append(group)
        return [f"wrote {n}" for n in group]


async def test_items_added_during_a_write_go_out_together_in_the_next() -> None:
    store = SlowStore()
    writer = GroupWriter(store.write)
    writer.add(1)
    for n in range(2, 6):
        writer.add(n)
    await asyncio.sleep(0.015)  # the first write is done, the second in flight
    writer.add(6)

    written = await writer.close()

    assert store.groups == [[1, 2, 3, 4, 5], [6]]
    assert written == [f"wrote {n}" for n in range(1, 7)]
    assert writer.writes == 2


async def test_closing_with_nothing_added_writes_nothing() -> None:
    store = SlowStore()
    assert await GroupWriter(store.write).close() == []
    assert store.groups == []


async def test_a_failed_write_stops_writing_and_close_raises() -> None:
    store = SlowStore(fail_on=1)
    writer = GroupWriter(store.write)
    writer.add(1)
    await asyncio.sleep(0.02)  # the write failed
    writer.add(2)

    with pytest.raises(RuntimeError, match="cannot write 1"):
        await writer.close()
    assert store.groups == []
