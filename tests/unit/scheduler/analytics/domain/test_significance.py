"""A/B statistics: intervals, the test's verdict, probability to be best, and when a winner is ready."""

from __future__ import annotations

import pytest

from services.scheduler.analytics.domain.significance import Arm, compare, ready_winner, wilson


def test_wilson_interval_matches_the_textbook_value() -> None:
    low, high = wilson(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert wilson(0, 0) == (0.0, 0.0)


def test_a_clear_difference_names_the_better_variant() -> None:
    result = compare([Arm("a", 100, 60), Arm("b", 100, 25)], "opened")
    assert result.test == "two-proportion z-test" and result.significant and result.better == "a"
    assert result.p_value is not None and result.p_value < 0.001
    assert result.arms[0].probability_best > 0.99


def test_a_small_difference_names_nobody() -> None:
    result = compare([Arm("a", 100, 30), Arm("b", 100, 27)], "opened")
    assert not result.significant and result.better is None


def test_three_variants_use_chi_square_and_answers_are_deterministic() -> None:
    arms = [Arm("a", 200, 40), Arm("b", 200, 70), Arm("c", 200, 45)]
    first, second = compare(arms, "clicked"), compare(arms, "clicked")
    assert first.test == "chi-square" and first.better == "b" and first == second


def test_a_winner_needs_significance_and_the_minimum_sample_in_every_arm() -> None:
    assert ready_winner("a", [120, 95], 100) is None
    assert ready_winner("a", [120, 105], 100) == "a"
    assert ready_winner(None, [500, 500], 100) is None
