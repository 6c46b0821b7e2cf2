"""Splitting a sign-up's latency into hops from the times its records reached the broker."""

from __future__ import annotations

import pytest

from bench.e2e import dripline_cpu_ms
from bench.hops import split


def test_each_hop_is_the_time_between_its_two_points() -> None:
    hops = split(
        posted={"a@x.example": 10.0},
        accepted={"a@x.example": 10.050},
        contacts={"a@x.example": "c-a"},
        signed_up={"c-a": 10.005},
        requested={"c-a": 10.030},
    )
    assert hops["hop-ingest"] == [pytest.approx(0.005)]
    assert hops["hop-scheduler"] == [pytest.approx(0.025)]
    assert hops["hop-sender"] == [pytest.approx(0.020)]


def test_an_email_missing_a_point_is_left_out_of_every_hop() -> None:
    hops = split(
        posted={"a@x.example": 10.0, "b@x.example": 11.0, "c@x.example": 12.0},
        accepted={"a@x.example": 10.05, "b@x.example": 11.05},  # c never arrived
        contacts={"a@x.example": "c-a", "b@x.example": "c-b", "c@x.example": "c-c"},
        signed_up={"c-a": 10.01, "c-b": 11.01, "c-c": 12.01},
        requested={"c-a": 10.02},  # b's request was not read back
    )
    assert {name: len(seconds) for name, seconds in hops.items()} == {
        "hop-ingest": 1,
        "hop-scheduler": 1,
        "hop-sender": 1,
    }


def test_cpu_per_sign_up_counts_what_a_shop_deploys_and_not_the_load_generator_or_the_inbox() -> None:
    spent = {
        "services.ingest": 0.2,
        "services.scheduler": 0.4,
        "services.sender": 0.3,
        "postgres": 0.5,
        "tansu-v0.6.0-510f3e2": 0.1,
        "dripline": 3.0,
        "bench.inbox": 2.0,
        "postgres (other databases)": 9.0,
    }
    assert dripline_cpu_ms(spent, 1000) == 1.5
    assert dripline_cpu_ms({}, 0) == 0.0
