"""Conditions in CEL see the contact, the event and history helpers, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.scheduler.domain.expressions import ExpressionError, compile_expression, evaluate, holds, scope
from tests.unit.scheduler.support import contact, event

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def carts(*baskets: list[str]) -> tuple:  # type: ignore[type-arg]
    return tuple(event("cart_abandoned", NOW - timedelta(days=i + 1), products=b) for i, b in enumerate(baskets))


def test_history_counts_events_in_a_window() -> None:
    who = contact(history=carts(["a"], ["b"]) + (event("cart_abandoned", NOW - timedelta(days=45)),))
    assert evaluate('history.count("cart_abandoned", "30d")', scope(who, None, NOW)) == 2


def test_repeated_products_are_those_in_more_than_one_cart() -> None:
    who = contact(history=carts(["shoe", "sock"], ["shoe", "hat"], ["hat"]))
    assert evaluate('history.repeated_products("cart_abandoned", "30d")', scope(who, None, NOW)) == ["hat", "shoe"]


def test_event_fields_and_contact_are_visible() -> None:
    context = scope(contact(tags=frozenset({"vip"})), event("signup", NOW, source="webinar-form"), NOW)
    assert holds('event.source == "webinar-form" && "vip" in contact.tags && event.type == "signup"', context)


def test_condition_on_a_missing_attribute_is_false_not_an_error() -> None:
    assert not holds("contact.attributes.level == 'pro'", scope(contact(), None, NOW))


def test_expressions_cannot_reach_python() -> None:
    for source in ["__import__('os')", "contact.__class__", "open('x')", "history.__globals__"]:
        with pytest.raises(ExpressionError):
            compile_expression(source)
    assert not holds('contact.id.__class__ == "x"', scope(contact(), None, NOW))
