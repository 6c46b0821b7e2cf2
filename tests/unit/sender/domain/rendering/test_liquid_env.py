"""The sandbox bounds what a template can build, whoever wrote it."""

from __future__ import annotations

import pytest
from liquid.exceptions import ResourceLimitError

from services.sender.domain.rendering.liquid_env import environment

DOUBLING = {
    "assign": "{% assign s = 'ab' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}",
    "capture": "{% capture s %}ab{% endcapture %}{% for i in (1..40) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}"
    "{% endfor %}{{ s | size }}",
}


@pytest.mark.parametrize("kind", sorted(DOUBLING))
def test_a_string_doubled_in_a_loop_stops_at_the_namespace_limit(kind: str) -> None:
    """Forty doublings would be a terabyte; the render stops at a megabyte instead."""
    template = environment(autoescape=False, strict=False, lenient=True).from_string(DOUBLING[kind])
    with pytest.raises(ResourceLimitError):
        template.render()


def test_ordinary_assignments_stay_within_the_limit() -> None:
    source = "{% assign s = 'ab' %}{% for i in (1..10) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}"
    assert environment(autoescape=False, strict=False, lenient=True).from_string(source).render() == "2048"
