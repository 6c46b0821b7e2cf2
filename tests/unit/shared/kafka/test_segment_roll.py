"""Quiet partitions of contacts.changes get a tombstone of their own often enough for the erasure deadline."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner

from shared.contract.contacts import erased_contact
from shared.contract.topics import CONTACTS
from shared.kafka.segment_roll import SegmentRoll, is_roll_key, roll_keys, roll_records
from shared.settings import CommonSettings


@pytest.mark.parametrize("partitions", [1, 4, 8, 24])
def test_one_roll_key_lands_on_each_partition(partitions: int) -> None:
    keys = roll_keys(partitions)
    placed = [DefaultPartitioner()(key.encode(), range(partitions), range(partitions)) for key in keys]
    assert placed == list(range(partitions))


def test_roll_records_are_tombstones_that_name_no_contact() -> None:
    records = roll_records(8)
    assert all(record.topic is CONTACTS and record.value is None for record in records)
    assert all(erased_contact(record.key) is None for record in records)  # consumers skip them
    assert all(is_roll_key(record.key) for record in records)  # and the scheduler says nothing about them
    assert not is_roll_key("shop-a/c-1") and not is_roll_key(None)


def test_a_segment_closes_within_the_deadline() -> None:
    settings = CommonSettings.model_construct(erasure_deadline_hours=24.0)
    roll = SegmentRoll(producer=None, settings=settings)  # type: ignore[arg-type]
    config = CONTACTS.config(24.0)
    closed_by_ms = int(config["segment.ms"]) + roll.every_seconds * 1000  # a segment's age, plus the next roll
    assert closed_by_ms + int(config["max.compaction.lag.ms"]) <= 24 * 3600 * 1000
