"""Conditions whose cost the CEL library cannot bound are refused when a flow or segment is saved."""

from __future__ import annotations

import time

import pytest

from services.scheduler.domain import Segment, check_flow
from services.scheduler.domain.expression_limits import MAX_CHARS, MAX_MATCHES, cost_problem
from services.scheduler.domain.expressions import ExpressionError, compile_expression


def branch_flow(condition: str) -> str:
    quoted = condition.replace("'", "''")
    return (
        "id: demo\nname: Demo\ntriggers:\n  - type: event\n    event: signup\nsteps:\n"
        f"  - id: pick\n    type: branch\n    conditions:\n      - when: '{quoted}'\n        next: done\n"
        "    else: done\n  - id: done\n    type: exit\n"
    )


def test_a_condition_longer_than_the_limit_is_refused_before_the_parser_sees_it() -> None:
    # 100 KB of `1+1+…` overflows the native parser's stack and kills the process.
    huge = "1" + "+1" * 50_000 + " > 0"
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as refused:
        compile_expression(huge)
    assert time.perf_counter() - started < 1.0
    assert str(refused.value) == (
        f"expression '{huge[:40]}…' is {len(huge)} characters long; at most {MAX_CHARS} are allowed"
    )


def test_a_flow_with_a_condition_over_the_limit_gets_a_problem_on_its_line() -> None:
    _, problems = check_flow(branch_flow("1" + "+1" * MAX_CHARS + " > 0"), "demo.yaml")
    assert [(p.line, str(MAX_CHARS) in p.reason) for p in problems] == [(10, True)]


@pytest.mark.parametrize(
    "condition",
    [
        "event.items.map(now, now).size() > 0",  # the result is copied per item: 10,000 items take seconds
        "size(event.items.filter(now, now > 1)) > 0",
        'event.items.exists(now, now == "x")',  # `now` shadowed: the only way an item variable passed
        "event.items.all(event, event.others.exists(contact, contact == event))",
        "event.items.exists_one // hidden\n(now, now)",
    ],
)
def test_list_macros_are_refused(condition: str) -> None:
    with pytest.raises(ExpressionError, match="list macros"):
        compile_expression(condition)


@pytest.mark.parametrize(
    "condition",
    [
        "event.note == \"x.map(y)\" || event.note == r'a.exists(b)'",
        'event.note == """all(""" // exists(\n',
        "contact.attributes.map == 1 && event.filter == 2",
        '"vip" in contact.tags && history.count("purchase", "30d") >= 2',
    ],
)
def test_names_in_strings_comments_or_fields_are_not_macros(condition: str) -> None:
    assert cost_problem(condition) is None
    compile_expression(condition)


def test_regular_expressions_are_capped() -> None:
    allowed = " || ".join(f'contact.id.matches("^{n}")' for n in range(MAX_MATCHES))
    compile_expression(allowed)
    with pytest.raises(ExpressionError, match=f"matches\\(\\) {MAX_MATCHES + 1} times"):
        compile_expression(allowed + ' || contact.id.matches("^x")')


def test_a_segment_condition_has_the_same_limit() -> None:
    with pytest.raises(ValueError, match=str(MAX_CHARS)):
        Segment(id="long", name="Long", condition="1" + "+1" * MAX_CHARS + " > 0")
