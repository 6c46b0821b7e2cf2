"""Which variables a flow's messages can rely on, from its triggers, wait_for steps and the contract."""

from __future__ import annotations

import pytest

from shared.message_variables import (
    ANYTHING,
    Use,
    event_shape,
    liquid_uses,
    problem,
    provided_by,
    template_problems,
)

CART_FLOW = {
    "triggers": [{"type": "event", "event": "cart_abandoned"}],
    "steps": [{"id": "clicked", "type": "wait_for", "event": "message_clicked"}],
}
WEBINAR_FLOW = {"triggers": [{"type": "event", "event": "signup", "properties": ["join_url"]}], "steps": []}


def _problem(source: str, flow: dict[str, object], attributes: set[str] | None = None) -> str | None:
    [use] = liquid_uses(source)
    return problem(use, provided_by(flow, attributes))


def test_an_event_type_provides_its_contract_fields() -> None:
    cart = event_shape("cart_abandoned")
    assert {"id", "type", "at", "cart_url", "items", "value", "currency"} <= set(cart)
    assert set(cart["items"][0]) == {"product_id", "name", "quantity", "price", "url", "image_url"}
    assert "consent" not in event_shape("signup") and "form" in event_shape("form_submitted")
    assert set(event_shape("coupon_redeemed", ["code"])) == {"id", "type", "at", "name", "code"}


def test_uses_know_their_line_and_whether_a_default_covers_them() -> None:
    source = "Hi {{ contact.first_name | default: 'there' }},\n{% for item in event.items %}{{ item.name }}{% endfor %}"
    source += "\n{{ event.cart_url }} {{ event.value | money | default: '' }}"
    assert liquid_uses(source) == [
        Use(("contact", "first_name"), 1, True),
        Use(("event", "items"), 2, False),
        Use(("event", "items", 0, "name"), 2, False, "item.name"),  # the loop variable, through what it loops over
        Use(("event", "cart_url"), 3, False),
        Use(("event", "value"), 3, True),
    ]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ event.cart_url }}", None),
        ("{{ event.items.first.url }} {{ event.items[0].name }}", None),
        ("{{ events.clicked.url }}", None),
        ("{{ contact.first_name }}{{ workspace.postal_address }}{{ unsubscribe_url }}", None),
        ("{{ event.join_url | default: '' }}", None),
        ("{{ event.join_url }}", "event.join_url is not a field of cart_abandoned events (at, cart_id, cart_url,"),
        (
            "{{ events.opened.url }}",
            "events.opened.url: events.<step> needs a wait_for step of this flow (here: clicked)",
        ),
        ("{{ events.clicked.order_id }}", "events.clicked.order_id is not a field of what step 'clicked' waits for"),
        (
            "{{ contact.company }}",
            "contact.company is not a profile field; custom attributes are contact.attributes.company",
        ),
        ("{{ contact.attributes.first_name }}", "contact.attributes.first_name: first_name is a profile field; write"),
        ("{{ order.total }}", "order.total is not something a message of a flow sees; it sees contact, event, events"),
    ],
)
def test_what_a_cart_flow_cannot_provide(source: str, reason: str | None) -> None:
    found = [problem(use, provided_by(CART_FLOW)) for use in liquid_uses(source)]
    if reason is None:
        assert found == [None] * len(found)
    else:
        assert found[0] is not None and found[0].startswith(reason), found


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{% for item in event.items %}{{ item.name }} {{ item.url }}{% endfor %}", None),
        ("{% for item in event.items %}{{ item.colour | default: '' }}{% endfor %}", None),
        (
            "{% for item in event.items %}\n{{ item.nme }}{% endfor %}",
            "item.nme (event.items[…].nme) is not a field of cart_abandoned events (image_url, name, price,",
        ),
        (
            "{% for item in event.items limit: 3 %}{% if item.on_sale %}sale{% endif %}{% endfor %}",
            "item.on_sale (event.items[…].on_sale) is not a field",
        ),
        (
            "{% for item in event.items %}{% for tag in item.tags %}{{ tag }}{% endfor %}{% endfor %}",
            "item.tags (event.items[…].tags) is not a field",
        ),
        ("{% for line in event.lines %}{{ line.name }}{% endfor %}", "event.lines is not a field of cart_abandoned"),
        ("{% assign picks = event.items %}{% for pick in picks %}{{ pick.whatever }}{% endfor %}", None),
        ("{% for n in (1..3) %}{{ n }}{% endfor %}", None),
    ],
)
def test_loop_variables_are_checked_against_what_they_loop_over(source: str, reason: str | None) -> None:
    found = [found for use in liquid_uses(source) if (found := problem(use, provided_by(CART_FLOW))) is not None]
    if reason is None:
        assert found == []
    else:
        assert found and found[0].startswith(reason), found


def test_a_loop_variables_problem_names_its_own_line() -> None:
    text = 'id: t\ncategory: marketing\nsubject: "Your cart"\nhtml: |\n  {% for item in event.items %}\n'
    text += "  <p>{{ item.nme }}</p>\n  {% endfor %}\n"
    [(line, reason)] = template_problems(text, provided_by(CART_FLOW))
    assert line == 6 and reason.startswith("html: item.nme (event.items[…].nme) is not a field")


def test_listed_properties_and_known_attributes_are_provided() -> None:
    assert _problem("{{ event.join_url }}", WEBINAR_FLOW) is None
    assert _problem("{{ contact.attributes.company }}", WEBINAR_FLOW, {"company"}) is None
    reason = _problem("{{ contact.attributes.sales_owner }}", WEBINAR_FLOW, {"company"})
    assert reason is not None and reason.startswith("contact.attributes.sales_owner is not an attribute this")
    assert _problem("{{ contact.attributes.sales_owner }}", WEBINAR_FLOW, None) is None  # nothing to judge by


def test_a_flow_with_two_triggers_provides_what_both_events_have() -> None:
    both = {"triggers": [{"type": "event", "event": "cart_abandoned"}, {"type": "event", "event": "purchase"}]}
    assert _problem("{{ event.currency }}", both) is None
    assert _problem("{{ event.cart_url }}", both) is not None
    dated = {"triggers": [{"type": "date", "attribute": "birthday"}]}
    reason = _problem("{{ event.at }}", dated)
    assert reason is not None and "date (birthday) events, which has no event" in reason


def test_template_problems_name_the_file_line_of_each_part() -> None:
    text = 'id: t\ncategory: marketing\nsubject: "Hi {{ contact.company }}"\npreheader: ""\nhtml: |\n  <p>x</p>\n'
    text += '  <a href="{{ event.cart_link }}">cart</a>\n'
    found = template_problems(text, provided_by(CART_FLOW))
    assert [(line, reason.split(":")[0]) for line, reason in found] == [(3, "subject"), (7, "html")]


def test_a_template_on_its_own_is_only_held_to_what_holds_for_every_flow() -> None:
    [use, other] = liquid_uses("{{ links.confirm }}{{ contact.company }}")
    assert problem(use, ANYTHING) is None
    assert problem(other, ANYTHING) is not None
