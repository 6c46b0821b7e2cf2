"""A group's lag per topic: what lies past its committed offsets, or past the first offset where it never committed."""

from __future__ import annotations

from aiokafka import TopicPartition

from shared.kafka.group_lag import lag_by_topic

A0, A1, B0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)


def test_lag_is_summed_per_topic_from_the_committed_offsets() -> None:
    lag = lag_by_topic({A0: 90, A1: 100, B0: 5}, {A0: 0, A1: 0, B0: 0}, {A0: 100, A1: 130, B0: 5})
    assert lag == {"a": 40, "b": 0}


def test_a_partition_never_committed_counts_from_its_first_offset_not_from_zero() -> None:
    assert lag_by_topic({A0: 10}, {A0: 0, A1: 500}, {A0: 10, A1: 520}) == {"a": 20}


def test_an_offset_past_the_end_counts_as_no_lag() -> None:
    assert lag_by_topic({A0: 12}, {A0: 0}, {A0: 10}) == {"a": 0}
