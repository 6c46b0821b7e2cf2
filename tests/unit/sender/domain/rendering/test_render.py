"""Rendering personalises every part, fails whole, and keeps templates in their sandbox."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest

from services.sender.domain.rendering.compile import compile_template
from services.sender.domain.rendering.errors import MissingData, RenderError, TemplateError
from services.sender.domain.rendering.render import render_message
from services.sender.domain.rendering.template import load_template
from tests.unit.sender.conftest import KEYS, SENDER, compiled_from, make_template, outgoing

MJML_ORDER = """<mjml><mj-body>
<mj-section><mj-column><mj-text>Hi {{ contact.first_name | default: "there" }}</mj-text></mj-column></mj-section>
{% for item in order.items %}
<mj-section><mj-column><mj-text>{{ item.name }}</mj-text>
<mj-button href="{{ item.url }}">View {{ item.name }}</mj-button></mj-column></mj-section>
{% endfor %}
</mj-body></mjml>"""


def test_fallback_greets_reader_without_a_first_name() -> None:
    compiled = compiled_from("<p>Hi {{ contact.first_name | default: 'there' }}</p>")
    message = render_message(compiled, outgoing(contact={}, order={"id": "7"}), SENDER, KEYS)
    assert message.subject == "Hi there"
    assert "Hi there" in message.html and "Hi there" in message.text


def test_subject_preheader_and_body_are_personalised() -> None:
    compiled = compiled_from("<p>Hello {{ contact.first_name }}</p>")
    message = render_message(compiled, outgoing(), SENDER, KEYS)
    assert message.subject == "Hi Åse"
    assert "Order 1001" in message.html and message.text.startswith("Order 1001")  # the preheader
    assert "Hello Åse" in message.html


def test_contact_data_is_html_escaped_in_html_but_not_in_text() -> None:
    compiled = compiled_from("<p>{{ contact.first_name }}</p>")
    evil = outgoing(contact={"first_name": "<script>x</script> & co"}, order={"id": "1"})
    message = render_message(compiled, evil, SENDER, KEYS)
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert "<script>x</script> & co" in message.text
    assert message.subject == "Hi <script>x</script> & co"


def test_mjml_template_renders_each_item_with_compiled_once_body() -> None:
    compiled = compiled_from(MJML_ORDER, kind="mjml")
    assert compiled.body_is_final and compiled.text is not None
    items = [{"name": "Socks", "url": "https://shop.example/p/1"}, {"name": "Hat", "url": "https://shop.example/p/2"}]
    message = render_message(compiled, outgoing(contact={"first_name": "Al"}, order={"items": items}), SENDER, KEYS)
    assert "View Socks" in message.html and "View Hat" in message.html
    assert "<mj-" not in message.html
    assert "Socks" in message.text and "[View Hat](https://shop.example/p/2)" in message.text


def test_fast_and_slow_body_paths_render_the_same_text() -> None:
    fast = compiled_from(MJML_ORDER, kind="mjml")
    slow = replace(fast, body=fast.body.env.from_string(fast.template.body), body_is_final=False, text=None)
    items = [{"name": "Socks", "url": "https://shop.example/p/1"}]
    out = outgoing(contact={"first_name": "Al"}, order={"items": items})
    assert render_message(fast, out, SENDER, KEYS).text == render_message(slow, out, SENDER, KEYS).text


def test_plain_text_is_generated_when_none_is_written() -> None:
    compiled = compiled_from("<h1>Welcome</h1><p>Glad you are here, {{ contact.first_name }}.</p>")
    text = render_message(compiled, outgoing(), SENDER, KEYS).text
    assert "Welcome" in text and "Glad you are here, Åse." in text
    assert "<p>" not in text


def test_written_text_part_is_used_as_is_after_the_preheader() -> None:
    compiled = compiled_from("<p>html</p>", extra="text: 'Plain {{ contact.first_name }}'\n")
    assert render_message(compiled, outgoing(), SENDER, KEYS).text.startswith("Order 1001\n\nPlain Åse\n")


def test_a_template_without_a_preheader_starts_with_its_body() -> None:
    source = make_template("<p>Plain {{ contact.first_name }}</p>", extra="text: 'Plain {{ contact.first_name }}'\n")
    without = "\n".join(line for line in source.splitlines() if not line.startswith("preheader:"))
    message = render_message(compile_template(load_template(without)), outgoing(), SENDER, KEYS)
    assert message.text.startswith("Plain Åse\n")
    assert "dripline-preheader" not in message.html


def test_money_and_dates_follow_reader_locale_and_time_zone() -> None:
    compiled = compiled_from(
        "<p>{{ order.total | money: order.currency }} on {{ event.occurred_at | local_date: 'long' }}</p>"
    )
    base = outgoing(order={"total": "1234.5", "currency": "NOK"}, event={"occurred_at": "2024-03-01T23:30:00Z"})
    in_oslo = render_message(compiled, replace(base, locale="nb", time_zone="Europe/Oslo"), SENDER, KEYS)
    in_london = render_message(compiled, replace(base, locale="en", time_zone="Europe/London"), SENDER, KEYS)
    assert "1\xa0234,50\xa0kr on 2. mars 2024" in in_oslo.text
    assert "NOK1,234.50 on March 1, 2024" in in_london.text


def test_money_accepts_decimal_amounts() -> None:
    compiled = compiled_from("<p>{{ total | money: 'EUR' }}</p>")
    out = replace(outgoing(total=Decimal("9.9")), locale="en")
    assert "€9.90" in render_message(compiled, out, SENDER, KEYS).text


def test_render_error_names_template_and_part_and_returns_nothing() -> None:
    compiled = compiled_from("<p>{{ order.total | money: 'EUR' }}</p>")
    with pytest.raises(RenderError) as caught:
        render_message(compiled, outgoing(order={"total": "not money"}), SENDER, KEYS)
    assert caught.value.template == "t1"
    assert caught.value.part == "html"


def test_strict_mode_turns_undefined_variables_into_errors() -> None:
    template = load_template(make_template("<p>{{ contact.middle_name }}</p>"))
    lenient = render_message(compile_template(template, lenient=True), outgoing(), SENDER, KEYS)
    assert "<p></p>" in lenient.html
    with pytest.raises(RenderError, match="middle_name"):
        render_message(compile_template(template, strict=True), outgoing(), SENDER, KEYS)


def test_a_missing_value_is_never_printed_blank() -> None:
    compiled = compiled_from("<p>Hi {{ contact.first_name }},</p>")
    with pytest.raises(MissingData) as missing:
        render_message(compiled, outgoing(contact={}), SENDER, KEYS)
    assert missing.value.variable == "contact.first_name"
    assert missing.value.detail == "missing data: contact.first_name (template t1, html)"
    tested = compiled_from("<p>{% if contact.first_name %}Hi {{ contact.first_name }},{% else %}Hello,{% endif %}</p>")
    assert "Hello," in render_message(tested, outgoing(contact={}), SENDER, KEYS).text


def test_strict_mode_still_allows_default_fallbacks() -> None:
    template = load_template(make_template("<p>{{ contact.nick | default: 'friend' }}</p>"))
    message = render_message(compile_template(template, strict=True), outgoing(), SENDER, KEYS)
    assert "friend" in message.text


@pytest.mark.parametrize(
    "expression",
    ["name.__class__", "name.__class__.__mro__", "contact.__dict__", "contact.items", "name.upper", "contact.keys"],
)
def test_template_cannot_reach_python_attributes(expression: str) -> None:
    compiled = compiled_from(f"<p>[{{{{ {expression} }}}}]</p>")
    with pytest.raises(MissingData):
        render_message(compiled, outgoing(name="x", contact={"a": 1}), SENDER, KEYS)
    lenient = compile_template(compiled.template, lenient=True)
    message = render_message(lenient, outgoing(name="x", contact={"a": 1}), SENDER, KEYS)
    assert "[]" in message.html


def test_non_plain_context_values_are_refused() -> None:
    class Secretive:
        password = "hunter2"

    compiled = compiled_from("<p>{{ thing.password }}</p>")
    with pytest.raises(RenderError) as caught:
        render_message(compiled, outgoing(thing=Secretive()), SENDER, KEYS)
    assert caught.value.part == "context"


def test_include_tags_are_not_available() -> None:
    with pytest.raises(TemplateError, match="include"):
        compiled_from("<p>{% include 'secrets' %}</p>")


def test_runaway_loop_is_stopped_as_a_render_error() -> None:
    compiled = compiled_from("{% for i in (1..100000) %}{{ i }}{% endfor %}")
    with pytest.raises(RenderError, match="loop"):
        render_message(compiled, outgoing(), SENDER, KEYS)


def test_whitespace_in_subject_collapses_to_one_line() -> None:
    compiled = compiled_from("<p>x</p>")
    message = render_message(compiled, outgoing(contact={"first_name": "A\n  B"}, order={}), SENDER, KEYS)
    assert message.subject == "Hi A B"
    assert not re.search(r"[\r\n]", message.subject)
