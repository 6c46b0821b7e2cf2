"""A condition's cost on the data at hand is bounded before the CEL library runs it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import cel
import pytest

from services.scheduler.domain import EventReceived, Flow, advance, load_flow, start
from services.scheduler.domain.actions import Decision, Transition
from services.scheduler.domain.contact import Event
from services.scheduler.domain.expression_cost import EVALUATION_BUDGET, DataSizes, cost_problem_on, shape_of, size_of
from services.scheduler.domain.expression_limits import MAX_OPERATIONS
from services.scheduler.domain.expressions import (
    ConditionTooCostly,
    ExpressionError,
    compile_expression,
    evaluate,
    holds,
    scope,
)
from tests.unit.scheduler.support import contact, event

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
# Each `+` copies everything before it: 60 of them on 20,000 items took 10 s, 150 took 22 s.
CONCATENATED = "size(" + " + ".join(["event.items"] * 60) + ") > 0"
# One reference, then 80 one-item lists appended: each copies the whole list (400 took 3 to 4 s on 50,000 items).
APPENDED = "size(event.items" + " + [1]" * 80 + ") > 0"


def failed_for_cost(decision: Decision) -> list[str | None]:
    """The steps of the `failed` transitions that name a condition too costly to evaluate."""
    return [
        a.step_id
        for a in decision.actions
        if isinstance(a, Transition) and a.event == "failed" and "too costly to evaluate" in (a.reason or "")
    ]


def costly_flow(trigger: str, rest: str) -> Flow:
    return load_flow(f"id: costly\nname: Costly\ntriggers: [{{type: event, event: {trigger}}}]\n{rest}", "costly.yaml")


def big_event(items: int) -> Event:
    return event("cart_abandoned", NOW, items=list(range(items)))


@pytest.mark.parametrize("condition", [CONCATENATED, APPENDED, "size(event.items) > 0"])
def test_a_condition_too_costly_for_the_data_is_refused_before_it_runs(condition: str) -> None:
    context = scope(contact(), big_event(300_000), NOW)  # 300,000 items: as many as a 2 MB event holds
    started = time.perf_counter()
    with pytest.raises(ConditionTooCostly, match=f"more than the {EVALUATION_BUDGET:,} a condition may cost"):
        evaluate(condition, context)
    assert time.perf_counter() - started < 0.1


def test_the_same_conditions_run_on_ordinary_data() -> None:
    context = scope(contact(), big_event(20), NOW)
    assert evaluate(CONCATENATED.replace("> 0", "== 1200"), context) is True
    assert evaluate(APPENDED.replace("> 0", "== 100"), context) is True


def test_a_refused_condition_counts_as_false_and_keeps_its_reason() -> None:
    context = scope(contact(), big_event(50_000), NOW)
    assert not holds(CONCATENATED, context)
    assert len(context.refused) == 1 and "too costly to evaluate on this data" in context.refused[0]
    assert holds("event.type == 'cart_abandoned'", context)
    assert len(context.refused) == 1


def test_the_bound_counts_operations_and_each_time_a_value_is_named() -> None:
    assert shape_of('size(event.items + [1]) > 0 && history.count("x", "30d") > 1 && "vip" in contact.tags') == (
        shape_of("size(event.items+[1])>0&&history.count('x','30d')>1&&'vip' in contact.tags")
    )
    found = shape_of('size(event.items + [1]) > 0 && history.count("x", "30d") > 1 && "vip" in contact.tags')
    assert (found.operations, found.contact, found.event, found.history) == (9, 1, 1, 1)
    # Field names, strings and comments are not values named: `contact.event` reads contact once.
    quiet = shape_of("contact.event == 'event + event' // event + event\n")
    assert (quiet.operations, quiet.contact, quiet.event) == (1, 1, 0)


def test_a_raw_string_cannot_hide_operations_from_the_count() -> None:
    hidden = 'r"\\" + event.items + event.items + "x" == ""'
    assert shape_of(hidden).event == 2
    assert shape_of(hidden).operations == 4


def test_sizes_weigh_map_entries_and_long_strings_and_stop_at_the_cap() -> None:
    assert size_of([1, 2, 3], 100) == 4
    assert size_of({"a": 1, "b": [1, 2]}, 100) == 21 + 3
    assert size_of("x" * 160, 100) == 11
    assert size_of(list(range(1_000_000)), 1_000) <= 1_000_002  # counted no further than one list


def test_sizes_are_measured_once_per_scope() -> None:
    sizes = DataSizes({"tags": ["a"]}, {}, 0)
    assert cost_problem_on("'a' in contact.tags", sizes) is None
    assert sizes.size("contact", 10) == sizes.size("contact", 1_000)


def test_a_condition_with_too_many_operations_is_refused_when_saved() -> None:
    condition = "event.total" + " + 1" * MAX_OPERATIONS + " > 0"
    with pytest.raises(ExpressionError, match=f"at most {MAX_OPERATIONS} are allowed"):
        compile_expression(condition)


def test_a_branch_on_a_too_costly_condition_takes_else_and_says_why_on_the_transitions() -> None:
    flow = costly_flow(
        "cart_abandoned",
        f"""
steps:
  - id: pick
    type: branch
    conditions: [{{when: '{CONCATENATED}', next: big}}]
    else: small
  - {{id: big, type: send, template: big, next: done}}
  - {{id: small, type: send, template: small, next: done}}
  - {{id: done, type: exit}}
""",
    )
    decision = start(flow, contact(), NOW, "e-1", trigger=big_event(50_000))
    assert [m.template for m in decision.messages] == ["small"]
    assert failed_for_cost(decision) == ["pick"]


def test_a_wait_for_condition_too_costly_for_the_event_keeps_waiting_and_says_why() -> None:
    flow = costly_flow(
        "signup",
        f"""
goals: [{{id: bought, event: purchase, where: '{CONCATENATED}'}}]
steps:
  - {{id: cart, type: wait_for, event: cart_abandoned, where: '{CONCATENATED}', timeout: 2d,
     on_event: done, on_timeout: done}}
  - {{id: done, type: exit}}
""",
    )
    begun = start(flow, contact(), NOW, "e-1", trigger=event("signup", NOW))
    for kind in ("cart_abandoned", "purchase"):
        big = event(kind, NOW, items=list(range(50_000)))
        after = advance(flow, begun.state, EventReceived(event=big), NOW, contact())
        assert failed_for_cost(after) == ["cart"]
        assert after.state.waiting is not None and after.state.step_id == "cart"


def test_a_context_built_by_hand_is_bounded_too() -> None:
    context = cel.Context(variables={"contact": {}, "event": {"items": list(range(50_000))}, "now": NOW})
    with pytest.raises(ConditionTooCostly):
        evaluate(CONCATENATED, context)
    assert not holds(CONCATENATED, context)
    assert evaluate("size(event.items) == 50000", context) is True
