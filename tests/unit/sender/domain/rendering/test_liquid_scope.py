"""The sandbox's faster lookups and loops render exactly what python-liquid's own would."""

from __future__ import annotations

import pytest
from liquid import BoundTemplate, Environment
from liquid.exceptions import LiquidError

from services.sender.domain.rendering.liquid_env import MissingValueError, environment
from services.sender.domain.rendering.liquid_scope import SandboxTemplate

DATA: dict[str, object] = {
    "contact": {"first_name": "Åse", "tags": ["vip", "nordic"], "size": "XL", "first": "f", "none_set": {}},
    "order": {"total": "10", "items": [{"name": "Cup", "url": "https://a.example/1"}, {"name": "Mug"}]},
    "grid": [[1, 2], [3, 4]],
    "title": "<b>Hi & bye</b>",
    "key": "first_name",
    "n": 3,
    "partial": "shadowed?",
}

TEMPLATES = [
    "{{ contact.first_name }} {{ contact.missing }} {{ nobody }} {{ nobody.deeper }}",
    "{{ contact.tags.size }} {{ contact.tags.first }} {{ contact.tags.last }} {{ contact.size }} {{ contact.first }}",
    "{{ contact.tags[0] }} {{ contact.tags[-1] }} {{ contact.tags[9] }} {{ contact[key] }} {{ contact['first_name'] }}",
    "{{ title }} {{ title | upcase }} {{ contact.first_name.size }} {{ title.first }} {{ n.size }} {{ partial }}",
    "{{ contact.none_set.first }} {{ contact.none_set.size }} {{ order.items.first.name }} {{ order.items[1].url }}",
    "{% for item in order.items %}{{ forloop.index }}/{{ forloop.length }}:{{ item.name }}-{{ order.total }} "
    "{% if forloop.last %}end{% endif %}{% endfor %}{{ item }}",
    "{% for row in grid %}{% for cell in row %}{{ forloop.parentloop.index }}.{{ cell }} {% endfor %}{% endfor %}",
    "{% for row in grid limit:1 %}{{ row | join: ',' }}{% else %}none{% endfor %}"
    "{% for row in grid offset:continue %}[{{ row[1] }}]{% endfor %}{% for x in nothing %}x{% else %}none{% endfor %}",
    "{% for item in order.items reversed %}{% if item.url %}{% continue %}{% endif %}{{ item.name }}{% break %}"
    "{% endfor %}{% tablerow cell in contact.tags cols:1 %}{{ tablerowloop.index }}{{ cell }}{% endtablerow %}",
    "{% assign contact = 'shadow' %}{{ contact }}{% capture order %}{{ n | plus: 1 }}{% endcapture %}{{ order }}"
    "{% increment n %}{{ n }}{% for i in (1..n) %}{{ i }}{% endfor %}{% cycle 'a', 'b' %}{% cycle 'a', 'b' %}",
    "{{ nobody | default: 'there' }} {{ contact.missing | default: contact.first_name }} {{ now | date: '%Y' }}",
]


def _reference(*, autoescape: bool, strict: bool, lenient: bool) -> Environment:
    """The same settings as the sandbox (its kind of undefined too), with python-liquid's own lookups and loops."""
    env = environment(autoescape=autoescape, strict=strict, lenient=lenient)
    reference = Environment(autoescape=autoescape, undefined=env.undefined, strict_filters=True)
    reference.filters.update(env.filters)
    return reference


def _outcome(template: BoundTemplate) -> str:
    try:
        return template.render(**DATA)
    except LiquidError as err:
        return f"{type(err).__name__}: {err}"


@pytest.mark.parametrize(("strict", "lenient"), [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("autoescape", [False, True])
@pytest.mark.parametrize("source", TEMPLATES)
def test_sandbox_renders_what_python_liquid_renders(source: str, autoescape: bool, strict: bool, lenient: bool) -> None:
    sandboxed = environment(autoescape=autoescape, strict=strict, lenient=lenient).from_string(source)
    assert isinstance(sandboxed, SandboxTemplate)
    expected = _outcome(_reference(autoescape=autoescape, strict=strict, lenient=lenient).from_string(source))
    assert _outcome(sandboxed) == expected


def test_a_missing_value_may_be_tested_looped_and_defaulted_but_not_printed() -> None:
    env = environment(autoescape=True, strict=False)
    source = "{% if contact.nick %}x{% endif %}{% for i in event.items %}i{% endfor %}{{ contact.nick | default: 'y' }}"
    assert env.from_string(source).render(contact={}) == "y"
    with pytest.raises(MissingValueError) as missing:
        env.from_string("Hi {{ contact.first_name }},").render(contact={})
    assert missing.value.variable == "contact.first_name"


def test_nested_loops_beyond_the_limit_still_stop() -> None:
    template = environment(autoescape=False, strict=False).from_string(
        "{% for a in (1..200) %}{% for b in (1..200) %}{{ b }}{% endfor %}{% endfor %}"
    )
    with pytest.raises(LiquidError, match="loop iteration limit"):
        template.render()
