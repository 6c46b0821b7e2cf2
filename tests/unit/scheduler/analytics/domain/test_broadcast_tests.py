"""The winner of a broadcast's test then send, and the evidence the report shows."""

from __future__ import annotations

from services.scheduler.analytics.domain.broadcast_tests import pick_winner


def test_a_significantly_better_variant_wins_with_its_p_value() -> None:
    winner, evidence = pick_winner([("plain", 200, 20), ("bold", 200, 60)], "opens")
    assert winner == "bold"
    assert evidence["significant"] and evidence["p_value"] < 0.001
    assert evidence["why"].startswith("bold is significantly better (two-proportion z-test, p = 0.0")
    assert [(arm["variant"], arm["trials"], arm["successes"]) for arm in evidence["arms"]] == [
        ("plain", 200, 20),
        ("bold", 200, 60),
    ]


def test_without_a_significant_difference_the_higher_rate_wins_and_says_so() -> None:
    winner, evidence = pick_winner([("plain", 20, 5), ("bold", 20, 6)], "clicks")
    assert winner == "bold" and not evidence["significant"]
    assert evidence["why"] == "no significant difference (two-proportion z-test); bold had the higher rate"


def test_a_tie_goes_to_the_first_template() -> None:
    assert pick_winner([("plain", 20, 5), ("bold", 20, 5), ("third", 20, 5)], "opens")[0] == "plain"
