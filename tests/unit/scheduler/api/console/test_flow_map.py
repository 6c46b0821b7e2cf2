"""The flow map: every step drawn once with its counts, edges labelled with what they stand for."""

from __future__ import annotations

from pathlib import Path

from services.scheduler.analytics.domain.report_models import Counts
from services.scheduler.api.console.flow_map import NODE_W, lay_out
from services.scheduler.api.console.pages import _ENV
from services.scheduler.domain.validation import load_flow

EXAMPLES = Path(__file__).resolve().parents[5] / "examples" / "flows"
CART = """
id: cart
name: Cart reminder
triggers: [{type: event, event: cart_abandoned}]
goals: [{id: bought, event: purchase}]
steps:
  - {id: breather, type: wait, duration: 1h30m}
  - {id: remind, type: send, template: cart-reminder}
  - id: wait-buy
    type: wait_for
    event: purchase
    timeout: 2d
    on_event: done
    on_timeout: big-cart
  - id: big-cart
    type: branch
    conditions: [{when: "event.total > 100", next: nudge}]
    else: done
  - {id: nudge, type: send, template: cart-nudge, next: wait-buy}
  - {id: done, type: exit, reason: bought or gave up}
"""


def _map(counts: dict[str, Counts] | None = None, waiting: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
    return lay_out(load_flow(CART, "cart.yaml"), counts or {}, waiting or {}, converted=4)


def test_every_step_is_one_node_with_its_wait_and_template_named() -> None:
    drawn = _map()
    nodes = {node.step_id: node for node in drawn.nodes}
    assert list(nodes) == ["breather", "remind", "wait-buy", "big-cart", "nudge", "done"]
    assert (nodes["breather"].title, nodes["breather"].detail) == ("wait", "1h30m")
    assert (nodes["remind"].title, nodes["remind"].detail) == ("send email", "cart-reminder")
    assert nodes["wait-buy"].detail == "purchase, up to 2d"
    assert (nodes["done"].title, nodes["done"].detail) == ("exit", "bought or gave up")
    assert drawn.entry == "cart_abandoned" and drawn.goals == ["bought: purchase"] and drawn.converted == 4


def test_nodes_show_the_reports_counts_and_who_waits_there_now() -> None:
    counts = {"remind": Counts(reached=10, sent=9, delivered=8, opened=5, clicked=2, suppressed=1)}
    drawn = _map(counts, {"wait-buy": 3})
    lines = {(node.step_id, line.metric): line.value for node in drawn.nodes for line in node.lines}
    assert lines[("remind", "reached")] == 10 and lines[("remind", "delivered")] == 8
    assert lines[("remind", "suppressed")] == 1 and lines[("remind", "clicked")] == 2
    assert lines[("wait-buy", "waiting")] == 3 and lines[("breather", "waiting")] == 0
    assert ("breather", "delivered") not in lines  # only sends show message counts


def test_edges_are_labelled_and_a_loop_back_is_an_arc_on_the_right() -> None:
    drawn = _map()
    labels = sorted(edge.label for edge in drawn.edges)
    assert labels == ["", "", "", "else", "event", "if event.total > 100", "timeout"]
    [back] = [edge for edge in drawn.edges if edge.back]  # nudge -> wait-buy goes up again
    nodes = {node.step_id: node for node in drawn.nodes}
    assert back.path.startswith(f"M{nodes['nudge'].x + NODE_W},")
    assert all(node.y >= 0 and node.x + NODE_W <= drawn.width for node in drawn.nodes)


def test_rows_follow_the_distance_from_the_start() -> None:
    layers = {node.step_id: node.layer for node in _map().nodes}
    assert layers == {"breather": 0, "remind": 1, "wait-buy": 2, "big-cart": 3, "done": 3, "nudge": 4}


def test_the_svg_escapes_what_a_flow_file_says() -> None:
    hostile = CART.replace("reason: bought or gave up", 'reason: "<script>alert(1)</script>"')
    drawn = lay_out(load_flow(hostile, "cart.yaml"), {}, {})
    svg = _ENV.get_template("flow_map.svg").render(map=drawn)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_every_example_flow_can_be_drawn() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        flow = load_flow(path.read_text(), path.name)
        drawn = lay_out(flow, {}, {})
        assert {node.step_id for node in drawn.nodes} == {step.id for step in flow.steps}, path.name
        assert drawn.width > 0 and drawn.height > 0


def test_a_send_shows_who_the_policy_holds_there_now_and_other_steps_do_not() -> None:
    drawn = lay_out(load_flow(CART, "cart.yaml"), {}, {"remind": 7}, held_now={"remind": 5})
    nodes = {node.step_id: node for node in drawn.nodes}
    remind = {line.metric: line.value for line in nodes["remind"].lines}
    assert remind["waiting"] == 7 and remind["held_now"] == 5
    assert {line.metric for line in nodes["nudge"].lines} >= {"held_now"}
    assert "held_now" not in {line.metric for line in nodes["breather"].lines}
    svg = _ENV.get_template("flow_map.svg").render(map=drawn)
    assert 'data-metric="held_now" data-step="remind">5<' in svg


def test_a_send_names_why_its_messages_were_held_on_the_map() -> None:
    reasons = {"remind": [("address suppressed: bounced", 30), ("quiet hours until 08:00 in their zone", 4),
                          ("frequency cap", 1)]}  # fmt: skip
    drawn = lay_out(load_flow(CART, "cart.yaml"), {}, {}, held_for=reasons)
    nodes = {node.step_id: node for node in drawn.nodes}
    plain = lay_out(load_flow(CART, "cart.yaml"), {}, {})
    assert nodes["remind"].height == next(n for n in plain.nodes if n.step_id == "remind").height + 2 * 17
    svg = _ENV.get_template("flow_map.svg").render(map=drawn)
    shown = svg.split('data-held-reason="remind">')[1:]
    assert len(shown) == 2 and shown[0].startswith("held: address suppressed: bounced <tspan")
    assert shown[1].startswith("held: quiet hours until 08:00 in…")  # shortened on the node
    assert "<title>held: address suppressed: bounced 30; quiet hours until 08:00 in their zone 4; " in svg
    assert 'data-held-reason="nudge"' not in svg
