"""Split variants label what follows them, and a declared winner takes only later entrants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.scheduler.domain import ContactView, load_flow, start
from services.scheduler.domain.flow import SplitWinner

NOW = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
FLOW = """
id: ab
name: Subject test
triggers: [{type: event, event: signup}]
steps:
  - id: pick
    type: split
    variants: [{id: a, weight: 1, next: send_a}, {id: b, weight: 1, next: send_b}]
  - {id: send_a, type: send, template: hello_a, next: done}
  - {id: send_b, type: send, template: hello_b, next: done}
  - {id: done, type: exit}
"""


def test_the_variant_taken_is_on_the_split_transition_the_message_and_what_follows() -> None:
    flow = load_flow(FLOW, "ab.yaml")
    seen = set()
    for n in range(40):
        decision = start(flow, ContactView(id=f"c-{n}", workspace_id="shop"), NOW, f"e-{n}")
        variant = decision.state.variants["pick"]
        seen.add(variant)
        split = [t for t in decision.transitions if t.step_id == "pick"]
        assert [t.variant for t in split] == [variant]
        assert decision.transitions[0].event == "entered" and decision.transitions[0].variant is None
        assert decision.messages[0].variant == variant
        assert decision.messages[0].template == f"hello_{variant}"
        assert decision.transitions[-1].event == "exited" and decision.transitions[-1].variant == variant
    assert seen == {"a", "b"}


def test_a_winner_takes_contacts_entering_after_it_was_declared_only() -> None:
    declared = NOW + timedelta(days=1)
    flow = load_flow(FLOW, "ab.yaml").model_copy(update={"winners": {"pick": SplitWinner(variant="b", since=declared)}})
    before = [start(flow, ContactView(id=f"c-{n}", workspace_id="shop"), NOW, f"e-{n}") for n in range(30)]
    after = [start(flow, ContactView(id=f"c-{n}", workspace_id="shop"), declared, f"e-{n}") for n in range(30)]
    assert {d.state.variants["pick"] for d in before} == {"a", "b"}
    assert {d.state.variants["pick"] for d in after} == {"b"}
