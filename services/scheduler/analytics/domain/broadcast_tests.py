"""The winner of a broadcast's test then send, picked with the A/B significance test flows' reports use.

A significantly better variant wins. Without one the send still has to go on: the variant with the higher
rate wins (the first template on a tie), and the evidence says the difference was not significant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from .significance import Arm, compare


def pick_winner(tried: Sequence[tuple[str, int, int]], metric: str) -> tuple[str, dict[str, Any]]:
    """(variant, messages, successes) per variant, in template order → the winner and the evidence."""
    comparison = compare([Arm(variant, trials, successes) for variant, trials, successes in tried], metric)
    order = {variant: index for index, (variant, _, _) in enumerate(tried)}
    top = max(comparison.arms, key=lambda arm: (arm.rate, -order[arm.variant]))
    winner = comparison.better or top.variant
    evidence = asdict(comparison)
    evidence["winner"] = winner
    evidence["why"] = (
        f"{winner} is significantly better ({comparison.test}, p = {comparison.p_value:.4f})"
        if comparison.better
        else f"no significant difference ({comparison.test}); {winner} had the higher rate"
    )
    return winner, evidence
