"""A/B statistics: each variant's rate with a Wilson interval, a significance test, and the
Bayesian probability that each variant is best (Beta(1, 1) prior; sampled with a fixed seed, so
the same counts always give the same answer)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

SAMPLES = 20_000


@dataclass(frozen=True)
class Arm:
    variant: str
    trials: int
    successes: int


@dataclass(frozen=True)
class ArmResult:
    variant: str
    trials: int
    successes: int
    rate: float
    low: float
    high: float
    probability_best: float


@dataclass(frozen=True)
class Comparison:
    metric: str
    confidence: float
    test: str
    p_value: float | None
    significant: bool
    better: str | None
    arms: tuple[ArmResult, ...]


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval: sensible even for small samples and rates near 0 or 1."""
    if trials <= 0:
        return 0.0, 0.0
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p(a: Arm, b: Arm) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test."""
    if a.trials == 0 or b.trials == 0:
        return None
    pooled = (a.successes + b.successes) / (a.trials + b.trials)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials))
    if spread == 0:
        return 1.0
    z = (a.successes / a.trials - b.successes / b.trials) / spread
    return math.erfc(abs(z) / math.sqrt(2))  # both tails of the standard normal


def chi_square_p(arms: Sequence[Arm]) -> float | None:
    table = [[arm.successes, arm.trials - arm.successes] for arm in arms if arm.trials > 0]
    if len(table) < 2 or any(sum(column) == 0 for column in zip(*table, strict=True)):
        return None if len(table) < 2 else 1.0
    from scipy import stats  # here, not at the top: importing scipy.stats costs every process half a second

    return float(stats.chi2_contingency(table, correction=False).pvalue)


def probability_best(arms: Sequence[Arm], samples: int = SAMPLES) -> list[float]:
    rng = np.random.default_rng(0)
    draws = np.stack([rng.beta(1 + arm.successes, 1 + arm.trials - arm.successes, samples) for arm in arms])
    wins = np.bincount(draws.argmax(axis=0), minlength=len(arms))
    return [float(w) / samples for w in wins]


def compare(arms: Sequence[Arm], metric: str, confidence: float = 0.95) -> Comparison:
    """Rates, intervals and the test; `better` names the top variant only when the test is significant."""
    test = "two-proportion z-test" if len(arms) == 2 else "chi-square"
    p_value = (two_proportion_p(arms[0], arms[1]) if len(arms) == 2 else chi_square_p(arms)) if arms else None
    best = probability_best(arms) if arms else []
    results = []
    for arm, chance in zip(arms, best, strict=True):
        low, high = wilson(arm.successes, arm.trials, confidence)
        rate = arm.successes / arm.trials if arm.trials else 0.0
        results.append(ArmResult(arm.variant, arm.trials, arm.successes, rate, low, high, chance))
    significant = p_value is not None and p_value < 1 - confidence
    top = max(results, key=lambda r: (r.rate, r.variant), default=None)
    return Comparison(
        metric, confidence, test, p_value, significant, top.variant if significant and top else None, tuple(results)
    )


def ready_winner(better: str | None, trials: Sequence[int], min_sample: int) -> str | None:
    """The variant to declare the winner: significantly better, with `min_sample` trials in every arm."""
    if better is None or not trials or min(trials) < min_sample:
        return None
    return better
