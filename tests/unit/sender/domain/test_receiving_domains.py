"""Receiving-domain groups from the setting, and a group's pace: slowed by deferrals, recovering on acceptances."""

from __future__ import annotations

import pytest

from services.sender.domain.receiving_domains import GroupsError, Pace, group_of, parse_groups
from shared.settings import SenderSettings


def test_the_default_setting_groups_the_big_mailbox_providers() -> None:
    groups = parse_groups(SenderSettings.model_fields["receiving_domains"].default)

    assert [g.name for g in groups] == ["gmail", "outlook", "yahoo", "other"]
    assert group_of(groups, "ann@googlemail.com").name == "gmail"
    assert group_of(groups, "bo@HOTMAIL.com").name == "outlook"
    assert group_of(groups, "cy@mail.yahoo.com").name == "yahoo"  # a subdomain belongs to its domain's group
    assert group_of(groups, "di@shop.example").name == "other"
    assert (groups[0].connections, groups[0].rate_per_second, groups[0].via) == (4, 10.0, None)
    assert (groups[3].connections, groups[3].rate_per_second) == (None, None)


def test_a_group_may_go_through_its_own_relay_and_everyone_else_is_added() -> None:
    [slow, other] = parse_groups("slow: slow.example 1/0.5 via 127.0.0.1:2526")

    assert (slow.via, slow.rate_per_second, other.name, other.domains) == (
        ("127.0.0.1", 2526),
        0.5,
        "other",
        frozenset({"*"}),
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("gmail gmail.com 4/10", "expected `name: domain"),
        ("gmail: gmail.com 4", "connections/rate"),
        ("gmail: gmail.com 0/10", "must be above 0"),
        ("gmail: gmail.com x/10", "not a whole number"),
        ("a: a.example 1/1; a: b.example 1/1", "appears twice"),
        ("a: a.example 1/1 via nowhere", "host:port"),
    ],
)
def test_a_setting_that_cannot_be_read_says_which_part(text: str, says: str) -> None:
    with pytest.raises(GroupsError, match=says):
        parse_groups(text)


def test_slots_follow_the_rate_and_a_deferral_halves_it_and_leaves_a_gap() -> None:
    pace = Pace(10.0)
    assert [pace.reserve(100.0) for _ in range(3)] == pytest.approx([100.0, 100.1, 100.2])

    pace.deferred(100.3)

    assert pace.rate == 5.0 and pace.slowed
    assert pace.wait(100.3) == pytest.approx(0.2)
    for _ in range(6):  # the replies of sends already under way: one signal
        pace.deferred(100.4)
    assert pace.rate == 5.0 and pace.deferrals == 7
    for second in range(6):  # deferring on and on: the interval doubles each time
        pace.deferred(101.0 + 2**second)
    assert pace.rate == pytest.approx(5.0 / 64)
    assert pace.wait(133.0) == pytest.approx(12.8)  # one slowed interval from the last deferral


def test_acceptances_in_a_row_bring_the_rate_back_gradually_to_the_configured_one() -> None:
    pace = Pace(10.0)
    pace.deferred(0.0)
    pace.deferred(1.0)  # 2.5/s
    rates: list[float] = []
    for _ in range(40):
        pace.accepted()
        assert pace.rate is not None
        rates.append(pace.rate)

    assert rates[3] == 2.5 and rates[4] == 3.5  # a tenth of the configured rate per five acceptances
    assert rates[-1] == 10.0 and not pace.slowed
    assert sorted(rates) == rates


def test_a_group_without_a_rate_gets_one_when_it_defers_and_loses_it_on_recovery() -> None:
    pace = Pace(None)
    assert pace.wait(0.0) == 0 and pace.reserve(0.0) == pace.reserve(0.0) == 0.0

    pace.deferred(0.0)
    assert pace.rate == 5.0 and pace.slowed
    for _ in range(50):
        pace.accepted()
    assert pace.rate is None and not pace.slowed
