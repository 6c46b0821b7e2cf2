"""Template bombs stop at the render's output, range and time limits, with a reason a marketer can read."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from liquid.exceptions import OutputStreamLimitError, ResourceLimitError

from services.sender.domain.rendering import render_limits
from services.sender.domain.rendering.errors import RenderError
from services.sender.domain.rendering.liquid_env import environment
from services.sender.domain.rendering.render import render_message
from services.sender.domain.rendering.render_limits import MAX_OUTPUT_CHARS, RenderTimeLimitError
from tests.unit.sender.conftest import KEYS, SENDER, compiled_from, outgoing

# 2**17 characters, under the namespace limit; printed 10,000 times it would be 2.6 GB.
BIG = "{% assign s = 'ab' %}{% for i in (1..16) %}{% assign s = s | append: s %}{% endfor %}"
NESTED_LOOPS = BIG + "{% for i in (1..100) %}{% for j in (1..100) %}{{ s }}{% endfor %}{% endfor %}"
# Sixteen appends a round build strings of 256 KB to 2.2 MB from 2**17 characters and keep only their size (the
# namespace limit would refuse the string itself): 20 MB copied a round, 200 GB in all, seconds of work on the
# fastest machine, so the half-second limit is always what stops it (four appends a round kept, 18 GB, took
# 0.25 s on a fast one).
APPEND_LOOP = BIG + ("{% for i in (1..10000) %}{% assign n = s" + " | append: s" * 16 + " | size %}{% endfor %}done")
# No filter, no assignment in the loop: only lookups, 1 MB read a round (scanning 256 KB twice a round took 12 s).
SCAN_LOOP = (
    "{% assign s = 'ab' %}{% for i in (1..17) %}{% assign s = s | append: s %}{% endfor %}"
    "{% assign t = s | append: 'x' %}"
    "{% for i in (1..10000) %}{% if s contains 'zzz' %}{% endif %}{% if s contains 'yyy' %}{% endif %}"
    "{% if s contains 'xxx' %}{% endif %}{% if s == t %}{% endif %}{% endfor %}done"
)


def _render(source: str) -> str:
    return environment(autoescape=False, strict=False, lenient=True).from_string(source).render()


def test_nested_loops_printing_a_big_string_stop_at_the_output_limit() -> None:
    started = time.monotonic()
    with pytest.raises(OutputStreamLimitError, match="at most 2,000,000 characters"):
        _render(NESTED_LOOPS)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("source", ["{{ (1..100000000) | join: ',' }}", "{% assign r = (1..5000000) %}{{ r | size }}"])
def test_a_big_range_handed_to_a_filter_is_refused_before_it_is_walked(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(ResourceLimitError, match="at most 10,000 are allowed"):
        _render(source)
    assert time.monotonic() - started < 0.1


@pytest.mark.parametrize("source", [APPEND_LOOP, SCAN_LOOP])
def test_a_loop_of_big_appends_or_scans_stops_at_the_time_limit(source: str) -> None:
    """Each round copies 20 MB or reads 1 MB; ten thousand rounds take seconds without the limit."""
    started = time.monotonic()
    with pytest.raises(RenderTimeLimitError, match=r"at most 0.5 s"):
        _render(source)
    assert time.monotonic() - started < render_limits.MAX_RENDER_SECONDS + 0.5


@pytest.fixture
def slow_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """A clock that moves a tenth of a second each time the render reads it."""
    now = [0.0]

    def clock() -> float:
        now[0] += 0.1
        return now[0]

    monkeypatch.setattr(render_limits, "clock", clock)
    yield now


def test_the_deadline_is_read_as_the_render_runs(slow_clock: list[float]) -> None:
    # Six filter calls, one clock read each: the sixth is past the half second.
    with pytest.raises(RenderTimeLimitError):
        _render("{% for i in (1..10) %}{{ i | plus: 1 }}{% endfor %}")
    assert slow_clock[0] == pytest.approx(0.7)


def test_ordinary_templates_render_as_before() -> None:
    source = "{% for i in (1..3) %}{{ i | plus: 1 }},{% endfor %}{{ (1..4) | join: '-' }} {{ s | size }}"
    assert _render(BIG + source) == "2,3,4,1-2-3-4 131072"
    assert len(_render("{% for i in (1..10000) %}abcdefghij{% endfor %}")) == 100_000 < MAX_OUTPUT_CHARS


@pytest.mark.parametrize(
    ("body", "reason"),
    [(NESTED_LOOPS, "output limit reached"), (APPEND_LOOP, "render time limit reached")],
)
def test_a_message_past_a_limit_fails_with_the_reason(body: str, reason: str) -> None:
    """The error the sender fails the message with (and a preview answers 422 with) names the limit."""
    with pytest.raises(RenderError, match=reason) as caught:
        render_message(compiled_from(body), outgoing(), SENDER, KEYS)
    assert caught.value.part == "html"
