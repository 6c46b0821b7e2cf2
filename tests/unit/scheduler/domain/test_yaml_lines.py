"""A flow file of a few hundred bytes can never hold the scheduler for long: bombs are refused before
anything is expanded, with the line that holds the problem."""

from __future__ import annotations

import time

import pytest

from services.scheduler.domain import check_flow
from services.scheduler.domain.yaml_lines import MAX_BYTES, MAX_DEPTH, MAX_NODES

HEAD = "id: demo\nname: Demo\ntriggers:\n  - type: event\n    event: signup\n"
STEPS = "steps:\n  - id: done\n    type: exit\n"
# Generous: the refusals below take well under a millisecond; a loaded CI box must not make them flaky.
QUICKLY_S = 1.0


def alias_bomb(levels: int) -> str:
    """Billion laughs: each level is nine aliases of the one before (the issue's 276-byte file at 6 levels)."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, levels)]
    return HEAD + STEPS + "\n".join(lines) + "\n"


def refused(text: str) -> tuple[list[str], float]:
    started = time.perf_counter()
    flow, problems = check_flow(text, "bomb.yaml")
    elapsed = time.perf_counter() - started
    assert flow is None
    return [str(problem) for problem in problems], elapsed


@pytest.mark.parametrize("levels", [6, 9, 30])
def test_an_alias_bomb_is_refused_at_its_first_anchor_at_once(levels: int) -> None:
    problems, elapsed = refused(alias_bomb(levels))
    assert problems == [
        "bomb.yaml:9: YAML anchors and aliases (&name, *name) are not allowed in a flow file; write the value out"
    ]
    assert elapsed < QUICKLY_S


def test_an_alias_is_refused_on_its_own_line() -> None:
    problems, _ = refused(HEAD + STEPS + "x: 1\nnote: *nothing\n")
    assert problems[0].startswith("bomb.yaml:10: YAML anchors and aliases")


def test_a_merge_key_from_an_anchor_is_refused() -> None:
    base = HEAD + "defaults: &defaults {type: exit}\nsteps:\n  - id: done\n    <<: *defaults\n"
    problems, _ = refused(base)
    assert problems[0].startswith("bomb.yaml:6: YAML anchors and aliases")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read() -> None:
    problems, elapsed = refused(HEAD + STEPS + "# padding\n" * (MAX_BYTES // 10))
    assert problems == [
        f"bomb.yaml:1: the flow file is {len(HEAD + STEPS) + MAX_BYTES // 10 * 10} bytes; "
        f"at most {MAX_BYTES} are allowed"
    ]
    assert elapsed < QUICKLY_S


def test_deep_nesting_is_refused_at_the_level_past_the_limit() -> None:
    problems, elapsed = refused(HEAD + STEPS + "x: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert problems == [f"bomb.yaml:9: the flow nests deeper than {MAX_DEPTH} levels"]
    assert elapsed < QUICKLY_S


def test_a_file_of_too_many_tiny_values_is_refused() -> None:
    text = HEAD + STEPS + "x: [" + "1," * MAX_NODES + "1]\n"
    assert len(text) < MAX_BYTES
    problems, elapsed = refused(text)
    assert problems == [f"bomb.yaml:9: the flow has more than {MAX_NODES} values; split it into smaller flows"]
    assert elapsed < QUICKLY_S


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("? [a, b]\n: 1", "bomb.yaml:9: a key must be a plain name, not a list or mapping"),
        ("when: 2024-13-45", "bomb.yaml:9: '2024-13-45' cannot be read: month must be in 1..12"),
        ("big: " + "9" * 5000, "bomb.yaml:9: '" + "9" * 40 + "' cannot be read: Exceeds the limit (4300 digits)"),
    ],
)
def test_values_python_cannot_build_are_problems_on_their_line(line: str, expected: str) -> None:
    problems, _ = refused(HEAD + STEPS + line + "\n")
    assert problems[0].startswith(expected)


def test_a_large_real_flow_is_still_accepted() -> None:
    pair = (
        "  - id: wait-{i}\n    type: wait\n    duration: 1d\n  - id: check-{i}\n    type: branch\n    conditions:\n"
        '      - when: contact.attributes.plan == "pro" && history.count("purchase", "30d") > 2\n'
        "        next: wait-{j}\n    else: wait-{j}\n"
    )
    text = (
        HEAD
        + "steps:\n"
        + "".join(pair.format(i=i, j=i + 1) for i in range(100))
        + "  - id: wait-100\n    type: exit\n"
    )
    flow, problems = check_flow(text, "big.yaml")
    assert problems == [] and flow is not None and len(flow.steps) == 201
