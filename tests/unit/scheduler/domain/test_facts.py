"""Customer facts: orders, spend and engagement folded from events, read by conditions as `contact.facts`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.scheduler.domain import Segment, members_of
from services.scheduler.domain.contact import Event
from services.scheduler.domain.expressions import compile_expression, holds, scope
from services.scheduler.domain.facts import CustomerFacts
from services.scheduler.domain.facts_fold import fold, purchase_of
from tests.unit.scheduler.support import contact, event

NOW = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)


def _purchase(days_ago: int, revenue: str, currency: str = "EUR", product: str = "boots") -> Event:
    at = NOW - timedelta(days=days_ago)
    items = [{"product_id": product, "name": product.title(), "quantity": 1, "price": revenue}]
    return event("purchase", at, order_id=f"o-{days_ago}", revenue=revenue, currency=currency, items=items)


def _folded(events: list[Event]) -> CustomerFacts:
    orders = [p for e in events if (p := purchase_of(e)) is not None]
    return fold(CustomerFacts(), events, orders)


def test_purchases_add_up_to_orders_spend_per_currency_and_the_last_order() -> None:
    facts = _folded([_purchase(200, "40.00"), _purchase(150, "300", "NOK", "socks"), _purchase(130, "60.00")])
    value = facts.value(NOW)
    assert value["order_count"] == 3
    assert value["first_purchase_at"] == NOW - timedelta(days=200)
    assert value["last_purchase_at"] == NOW - timedelta(days=130)
    assert value["total_spent"] == {"EUR": 100.0, "NOK": 300.0}
    assert value["average_order_value"] == {"EUR": 50.0, "NOK": 300.0}
    assert value["last_order_products"] == [{"product_id": "boots", "name": "Boots", "quantity": 1, "price": "60.00"}]


def test_an_older_purchase_arriving_late_keeps_the_last_order_and_a_purchase_not_new_changes_nothing() -> None:
    late = _purchase(300, "10.00", product="hat")
    facts = _folded([_purchase(10, "20.00")])
    after = fold(facts, [late], [purchase_of(late)])  # type: ignore[list-item]
    assert after.first_purchase_at == late.at and after.last_purchase_at == NOW - timedelta(days=10)
    assert after.last_order_products[0]["product_id"] == "boots"
    replayed = fold(after, [late], [])  # the service found its order row: not new
    assert replayed == after


def test_machine_opens_do_not_count_as_engagement_and_levels_follow_the_last_human_open_or_click() -> None:
    proxy = Event(id="o1", type="message_opened", at=NOW - timedelta(days=1), machine=True)
    facts = fold(CustomerFacts(), [proxy], [])
    assert facts.last_open_at is None and facts.engagement(NOW) == "unengaged"
    opened = fold(facts, [Event(id="o2", type="message_opened", at=NOW - timedelta(days=45))], [])
    assert opened.value(NOW)["engagement"] == "cooling"
    clicked = fold(opened, [Event(id="c1", type="message_clicked", at=NOW - timedelta(days=2))], [])
    assert clicked.value(NOW)["engagement"] == "engaged"
    assert clicked.last_seen_at == NOW - timedelta(days=2)  # a click is a visit; an open is not
    assert clicked.engagement(NOW + timedelta(days=29)) == "cooling"
    assert clicked.engagement(NOW + timedelta(days=89)) == "unengaged"


def test_shop_events_are_visits_and_the_platforms_own_events_are_not() -> None:
    platform = [event("segment_entered", NOW), event("message_bounced", NOW)]
    facts = fold(CustomerFacts(), [event("product_viewed", NOW - timedelta(hours=3)), *platform], [])
    assert facts.last_seen_at == NOW - timedelta(hours=3)


def test_messages_of_the_last_30_days_are_counted_at_the_time_asked() -> None:
    facts = CustomerFacts(recent_messages=(NOW - timedelta(days=29), NOW - timedelta(days=2)))
    assert facts.value(NOW)["messages_last_30d"] == 2
    assert facts.value(NOW + timedelta(days=2))["messages_last_30d"] == 1


def test_conditions_read_facts_with_day_durations_and_a_contact_without_purchases_is_not_lapsed() -> None:
    lapsed = Segment(
        id="lapsed-customers",
        name="Lapsed",
        condition="contact.facts.last_purchase_at < now - duration('120d')",
    )
    buyer = contact(facts=_folded([_purchase(121, "20.00")]))
    recent = contact(facts=_folded([_purchase(119, "20.00")]))
    assert members_of([lapsed], buyer, NOW) == {"lapsed-customers"}
    assert members_of([lapsed], recent, NOW) == frozenset()
    assert members_of([lapsed], contact(), NOW) == frozenset()
    context = scope(buyer, None, NOW)
    assert holds("contact.facts.order_count == 1 && contact.facts.total_spent.EUR > 19.5", context)
    assert holds('contact.facts.engagement == "unengaged"', context)
    compile_expression("now - duration('2w') < now")


def test_facts_money_is_exact_in_storage() -> None:
    facts = _folded([_purchase(1, "0.10"), _purchase(2, "0.20")])
    assert facts.spent["EUR"].total == Decimal("0.30")
