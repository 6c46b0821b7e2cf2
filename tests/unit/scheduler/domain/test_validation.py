"""Flow files are rejected with the file, the line and a reason a marketer can act on."""

from __future__ import annotations

import json

import pytest

from services.scheduler.domain import FlowInvalid, check_flow, load_flow, render_flow_schema
from tests.unit.scheduler.support import ROOT

HEAD = "id: demo\nname: Demo\ntriggers:\n  - type: event\n    event: signup\nsteps:\n"


def problems(steps: str, **known: set[str]) -> list[str]:
    _, found = check_flow(HEAD + steps, "demo.yaml", known.get("templates"), known.get("attributes"))
    return [str(p) for p in found]


def test_unknown_step_type_is_reported_on_its_line() -> None:
    assert problems("  - id: a\n    type: teleport\n") == [
        "demo.yaml:8: unknown step type 'teleport'; use one of wait, send, wait_for, branch, split, "
        "update_contact, notify, exit"
    ]


def test_unreachable_step_is_reported() -> None:
    steps = "  - id: a\n    type: exit\n  - id: orphan\n    type: exit\n"
    assert problems(steps) == ["demo.yaml:9: step 'orphan' can never be reached; no step leads to it"]


def test_branch_without_else_target_is_reported() -> None:
    steps = "  - id: b\n    type: branch\n    conditions:\n      - when: 'true'\n        next: b\n"
    assert problems(steps) == ["demo.yaml:7: branch step 'b' has no target for 'else'; say which step comes next"]


def test_target_that_does_not_exist_is_reported_on_the_pointer() -> None:
    steps = "  - id: a\n    type: wait\n    duration: 1d\n    next: nowhere\n"
    assert problems(steps) == ["demo.yaml:10: step 'a' goes to 'nowhere', which is not a step here"]


def test_wait_for_without_timeout_is_reported() -> None:
    steps = "  - id: w\n    type: wait_for\n    event: purchase\n    on_event: x\n    on_timeout: x\n"
    steps += "  - id: x\n    type: exit\n"
    assert problems(steps) == [
        "demo.yaml:7: wait_for step 'w' has no timeout; a contact would wait forever (add e.g. timeout: 3d)"
    ]


def test_unknown_template_is_reported_when_templates_are_known() -> None:
    steps = "  - id: s\n    type: send\n    template: missing\n"
    assert problems(steps, templates={"welcome"}) == ["demo.yaml:9: step 's' uses unknown template 'missing'"]
    assert problems(steps) == []


def test_unknown_attribute_is_reported_when_attributes_are_known() -> None:
    steps = (
        "  - id: b\n    type: branch\n    conditions:\n      - when: contact.attributes.levle == 'x'\n"
        "        next: e\n    else: e\n  - id: e\n    type: exit\n"
    )
    assert problems(steps, attributes={"level"}) == ["demo.yaml:10: unknown contact attribute 'levle'"]


def test_expression_with_a_syntax_error_is_reported() -> None:
    steps = (
        "  - id: b\n    type: branch\n    conditions:\n      - when: contact.tags ==\n        next: e\n    else: e\n"
    )
    found = problems(steps + "  - id: e\n    type: exit\n")
    assert len(found) == 1 and found[0].startswith("demo.yaml:10: expression 'contact.tags ==' does not parse")


def test_expression_cannot_reach_unknown_names() -> None:
    steps = "  - id: b\n    type: branch\n    conditions:\n      - when: os.system('x') == 0\n        next: e\n"
    found = problems(steps + "    else: e\n  - id: e\n    type: exit\n")
    assert found == [
        "demo.yaml:10: expression 'os.system('x') == 0' uses os; only contact, event, history and now exist"
    ]


def test_loop_without_a_wait_is_reported() -> None:
    steps = "  - id: a\n    type: update_contact\n    add_tags: [x]\n    next: b\n"
    steps += "  - id: b\n    type: update_contact\n    next: a\n"
    assert problems(steps) == ["demo.yaml:7: steps a -> b -> a loop without a wait"]


def test_bad_duration_and_yaml_errors_are_plain() -> None:
    assert problems("  - id: a\n    type: wait\n    duration: soon\n") == [
        "demo.yaml:9: wait step 'a': 'soon' is not a duration; write it like 10m, 2h, 3d or 1w"
    ]
    _, found = check_flow("id: [unclosed\n", "bad.yaml")
    assert found[0].file == "bad.yaml" and found[0].reason.startswith("not valid YAML")


def test_load_flow_raises_with_every_problem() -> None:
    with pytest.raises(FlowInvalid) as raised:
        load_flow(HEAD + "  - id: a\n    type: nope\n  - id: b\n    type: nope\n", "demo.yaml")
    assert [p.line for p in raised.value.problems] == [8, 10]


def test_committed_json_schema_is_current() -> None:
    committed = (ROOT / "docs" / "flow.schema.json").read_text()
    assert committed == render_flow_schema(), "regenerate docs/flow.schema.json with render_flow_schema()"
    assert json.loads(committed)["properties"]["steps"]["type"] == "array"
