"""One pass over subject, preheader, HTML and its text gives exactly what rendering each alone gives."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from services.sender.domain.rendering.compile import CompiledTemplate, compile_template
from services.sender.domain.rendering.errors import RenderError
from services.sender.domain.rendering.render import Outgoing, RenderedMessage, render_message
from services.sender.domain.rendering.template import load_template
from tests.unit.sender.conftest import KEYS, SENDER, compiled_from, make_template, outgoing

ITEMS = [
    {"name": "Cup & <saucer>", "url": "https://shop.example/p/1", "price": "99.5", "quantity": 2},
    {"name": "Mug", "url": "https://shop.example/p/2", "tags": ["a", "b&c"]},
    {"name": "Skip me"},
]
DATA: dict[str, object] = {
    "contact": {"first_name": "Åse & <Bo>", "tags": ["vip", "b&c"], "tier": "gold"},
    "order": {"id": "1001", "total": "1234.50", "currency": "NOK", "items": ITEMS},
    "event": {"occurred_at": "2024-03-01T23:30:00Z", "currency": "NOK", "items": ITEMS},
}

PAIRED = [
    "<p>Hi {{ contact.first_name }}</p>{% for item in order.items %}<p>{{ item.name }}</p>"
    '<a href="{{ item.url }}">View {{ item.name }}</a>{% endfor %}',
    "{% if contact.tier == 'gold' %}<b>{{ contact.tags | join: ', ' }}</b>{% elsif contact.tier %}<i>x</i>"
    "{% else %}<i>{{ contact.tags | first }}</i>{% endif %}"
    "{% unless contact.none %}<p>{{ order.total }}</p>{% endunless %}",
    "{% case contact.tier %}{% when 'gold' %}<p>{{ 'a&b' | append: contact.first_name }}</p>"
    "{% when 'silver' %}<p>s</p>{% else %}<p>o</p>{% endcase %}<p>{{ contact.missing | default: '<none>' }}</p>",
    "{% for item in order.items %}{% if item.url == nil %}{% break %}{% endif %}"
    "{% for tag in item.tags %}<span>{{ forloop.parentloop.index }}{{ tag }}</span>{% else %}<span>-</span>{% endfor %}"
    "{% if forloop.first %}{% continue %}{% endif %}<p>{{ item.name | upcase }}</p>{% endfor %}",
    "<div>\n{%- for item in order.items -%}\n  <p> {{ item.name }} </p>\n{%- endfor -%}\n</div>\n"
    "<p>\n  {%- if contact.tier %} {{ contact.tier }} {% endif -%}\n</p><p>{{ order.id }}</p>",
    "<div>{% if contact.tier %}   \n   {% endif %}</div><p>{% for item in order.items %}  {% endfor %}</p>"
    "<div>{% if contact.none %}{% else %}  {{ order.id }}  {% endif %}</div>",
    "<div>{{ event.items | product_grid }}</div><pre>{{ event.items | product_lines }}</pre>"
    "<p>{{ order.total | money: order.currency }} {{ event.occurred_at | local_date }}"
    " {{ order.total | money }} {{ contact.first_name | escape }} {{ contact.first_name | strip_html }}</p>",
]

NOT_PAIRED = [
    "{% assign name = contact.first_name | append: '&' %}<p>{{ name }}</p>",
    "{% capture name %}<b>{{ contact.first_name }}</b>{% endcapture %}<p>{{ name }}</p>",
    "<p>{% echo contact.first_name %}</p>{% comment %}<p>{{ order.id }}</p>{% endcomment %}",
    "<p>{% increment n %}{% cycle 'a', 'b' %}</p>",
    "<p>{% if contact.tier %}{{ contact.tier }}{% endif -%}</p>",  # python-liquid drops a last newline after it
    "<table>{% tablerow tag in contact.tags %}{{ tag }}{% endtablerow %}</table>",
]


def _alone(compiled: CompiledTemplate) -> CompiledTemplate:
    return replace(compiled, paired=None)


def _outcome(compiled: CompiledTemplate, out: Outgoing) -> RenderedMessage | str:
    try:
        return render_message(compiled, out, SENDER, KEYS)
    except RenderError as error:
        return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("kind", ["html", "mjml"])
@pytest.mark.parametrize("body", PAIRED)
def test_one_pass_renders_what_the_parts_render_alone(body: str, kind: str) -> None:
    column = f"<mj-section><mj-column><mj-text>{body}</mj-text></mj-column></mj-section>"
    source = f"<mjml><mj-body>{column}</mj-body></mjml>" if kind == "mjml" else f"<html><body>{body}</body></html>"
    compiled = compiled_from(source, kind=kind)
    assert compiled.paired is not None
    for variables in (DATA, {**DATA, "contact": {"tier": "silver", "tags": []}}, {"order": {"items": []}}):
        out = outgoing(**variables)
        assert _outcome(compiled, out) == _outcome(_alone(compiled), out)


@pytest.mark.parametrize("body", NOT_PAIRED)
def test_tags_that_bind_values_or_keep_state_keep_two_passes(body: str) -> None:
    compiled = compiled_from(f"<html><body>{body}</body></html>")
    assert compiled.paired is None
    assert _outcome(compiled, outgoing(**DATA)) == _outcome(_alone(compiled), outgoing(**DATA))


def test_subject_with_choices_is_paired_and_one_that_assigns_is_not() -> None:
    def compiled(subject: str) -> CompiledTemplate:
        text = make_template("<p>{{ contact.first_name }}</p>").replace(
            "subject: \"Hi {{ contact.first_name | default: 'there' }}\"", f'subject: "{subject}"'
        )
        return compile_template(load_template(text))

    choosing = compiled("{% if contact.tier %}Gold{% else %}Hi{% endif %} {{ contact.first_name }}")
    assert choosing.paired is not None
    assert _outcome(choosing, outgoing(**DATA)) == _outcome(_alone(choosing), outgoing(**DATA))
    assert compiled("{% assign x = 'y' %}{{ x }}").paired is None


def test_a_missing_value_fails_with_the_reason_the_parts_alone_give() -> None:
    compiled = compiled_from("<p>{{ order.total }}</p><p>{{ contact.nickname }}</p>")
    assert compiled.paired is not None
    out = outgoing(contact={"first_name": "Al"}, order={"id": "1", "total": "5"})
    failed = _outcome(compiled, out)
    assert isinstance(failed, str) and "contact.nickname" in failed
    assert failed == _outcome(_alone(compiled), out)


EXAMPLES = sorted((Path(__file__).parents[5] / "examples" / "templates").glob("*.yaml"))
EXAMPLE_DATA: dict[str, object] = {
    "contact": {
        "first_name": "Åse & <Bo>",
        "attributes": {"company": "Fjord & Co", "webinar_at": "2026-12-10T17:00:00Z", "trial_ends_at": "2026-12-20"},
    },
    "workspace": {"name": "Sko <Nord>"},
    "event": {
        "items": ITEMS,
        "cart_url": "https://shop.example/cart/7",
        "join_url": "https://meet.example/j/1",
        "order_id": "1001",
        "document_url": "https://shop.example/doc.pdf",
        "at": "2026-12-10T17:00:00Z",
        "product": "Boots",
        "value": "99",
        "url": "https://shop.example/p/1",
        "revenue": "1234.50",
        "calendar_url": "https://meet.example/j/1.ics",
        "currency": "NOK",
        "occurred_at": "2026-12-01T08:00:00Z",
    },
    "coupon": {"code": "SAVE-10", "expires_at": "2026-12-31T23:59:00Z"},
    "links": {"confirm": "https://t.example/confirm/abc"},
    "promise": "a letter a month",
}


def _without_text(source: str) -> str:
    """The example with its hand-written text parts dropped, so each text is derived from the HTML."""
    raw = yaml.safe_load(source)
    raw.pop("text", None)
    for variant in (raw.get("variants") or {}).values():
        variant.pop("text", None)
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_every_example_with_its_text_derived_renders_the_same_in_one_pass_and_in_two(path: Path) -> None:
    template = load_template(_without_text(path.read_text()))
    for locale in (None, *template.variants):
        compiled = compile_template(template.in_locale(locale) if locale else template)
        if compiled.paired is None:
            continue
        for variables in (EXAMPLE_DATA, {"contact": {"first_name": "Al"}}):
            out = outgoing(**variables)
            assert _outcome(compiled, out) == _outcome(_alone(compiled), out)


def test_most_examples_with_their_text_derived_take_one_pass() -> None:
    paired = [path for path in EXAMPLES if compile_template(load_template(_without_text(path.read_text()))).paired]
    assert len(EXAMPLES) > 40 and len(paired) > len(EXAMPLES) // 2
