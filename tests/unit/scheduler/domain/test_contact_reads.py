"""Handing CEL only the part of a contact its conditions read gives every verdict the whole contact gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.scheduler.domain.contact_reads import contact_reads
from services.scheduler.domain.expressions import holds, scope
from shared.customer_facts import CustomerFacts, Spend
from tests.unit.scheduler.support import contact

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
PEOPLE = [
    contact(),
    contact(
        tags=frozenset({"vip"}),
        attributes={"email": "a@example.com", "city": "Oslo", "plan": "gold"},
        facts=CustomerFacts(
            last_purchase_at=NOW - timedelta(days=200), order_count=3, spent={"EUR": Spend(total="120", orders=3)}
        ),
    ),
    contact(
        attributes={"city": "Bergen"},
        facts=CustomerFacts(last_purchase_at=NOW - timedelta(days=2), last_open_at=NOW - timedelta(days=1)),
    ),
]
CONDITIONS = [
    "contact.facts.last_purchase_at < now - duration('120d')",
    "contact.facts.total_spent.EUR >= 100.0 && 'vip' in contact.tags",
    "has(contact.attributes.plan) && contact.attributes.plan == 'gold'",
    "contact.attributes.city == 'Oslo' || contact.facts.engagement == 'engaged'",
    "contact['facts'].order_count >= 3",
    "'city' in contact.attributes",
    "'last_purchase_at' in contact.facts",
    "size(contact.attributes) > 2",
    "contact.attributes.email.endsWith('@example.com')",
]


def test_the_parts_read_are_named_and_a_contact_read_as_a_whole_is_given_whole() -> None:
    assert contact_reads(("contact.facts.last_purchase_at < now - duration('1d')",)) == {
        "facts": frozenset({"last_purchase_at"})
    }
    assert contact_reads(("contact.facts.total_spent.EUR > 1.0", "'vip' in contact.tags")) == {
        "facts": frozenset({"total_spent"}),
        "tags": None,
    }
    assert contact_reads(("'x' in contact.facts",)) == {"facts": None}
    assert contact_reads(("contact.attributes.email.endsWith('.no')",)) == {"attributes": frozenset({"email"})}
    assert contact_reads(("contact['facts'].order_count > 1",)) is None
    assert contact_reads(("'contact.facts.x' == event.name",)) == {}  # inside a string: not read


@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_verdict_is_the_one_the_whole_contact_gives(condition: str) -> None:
    reads = contact_reads((condition,))
    for person in PEOPLE:
        whole = holds(condition, scope(person, None, NOW))
        assert holds(condition, scope(person, None, NOW, reads=reads)) == whole, person
