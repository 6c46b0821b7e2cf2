"""Templates print a contact's customer facts (`contact.facts.<name>`), and publish checks know their names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from liquid import Environment

from services.sender.domain.rendering.scope import message_scope
from shared.customer_facts import CustomerFacts, Spend
from shared.message_variables import liquid_uses, problem, provided_by

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
FLOW = {"triggers": [{"type": "event", "event": "signup"}], "steps": []}


def _facts() -> CustomerFacts:
    return CustomerFacts(
        first_purchase_at=NOW - timedelta(days=200),
        last_purchase_at=NOW - timedelta(days=40),
        order_count=3,
        spent={"NOK": Spend(total=Decimal("1500"), orders=3)},
        last_order_products=({"product_id": "p-9", "name": "Trail shoe"},),
        last_open_at=NOW - timedelta(days=45),
    )


def test_a_template_prints_the_contacts_facts() -> None:
    profile = {"first_name": "Kari", "facts": _facts().value(NOW)}
    scope = message_scope(contact_id="c-1", profile=profile, workspace_id="shop")
    source = (
        "{{ contact.facts.order_count }} orders, {{ contact.facts.total_spent.NOK }} NOK, "
        "{{ contact.facts.average_order_value.NOK }} each; last: "
        "{% for product in contact.facts.last_order_products %}{{ product.name }}{% endfor %}; "
        "{{ contact.facts.engagement }}, {{ contact.facts.messages_last_30d }} messages"
    )
    rendered = Environment().from_string(source).render(**scope)
    assert rendered == "3 orders, 1500.0 NOK, 500.0 each; last: Trail shoe; cooling, 0 messages"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ contact.facts.order_count }}", None),
        ("{{ contact.facts.total_spent.EUR }}", None),
        ("{% for p in contact.facts.last_order_products %}{{ p.name }}{% endfor %}", None),
        ("{{ contact.facts.orders }}", "contact.facts.orders does not exist"),
    ],
)
def test_publish_checks_know_the_fact_names(source: str, reason: str | None) -> None:
    found = [problem(use, provided_by(FLOW)) for use in liquid_uses(source)]
    if reason is None:
        assert found == [None] * len(found)
    else:
        assert found[0] is not None and found[0].startswith(reason), found
