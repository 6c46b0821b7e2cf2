"""A flow's simulation in the console: the timeline the API's simulate gives, for any role; bad input is named
and nothing runs; another workspace's flow is not there."""

from __future__ import annotations

import json
import re

from tests.integration.console.conftest import FLOW_ID, ConsoleShop, Visitor
from tests.integration.scheduler.conftest import new_workspace
from tests.support.stack import RealStack

CONTACT = {"time_zone": "Europe/Oslo", "attributes": {"first_name": "Kari"}}
ROW = r'<tr data-row="([a-z_]+)" data-step="([^"]*)"><td>[^<]+</td><td>[^<]+</td><td>[^<]*</td><td>([^<]*)</td>'
EVENTS = [{"type": "signup", "after": "0m"}, {"type": "message_opened", "after": "3h", "step": "hello"}]


async def test_a_viewer_runs_the_flows_simulation_and_reads_the_apis_timeline(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    await visitor.sign_in(*console_shop.passwords["viewer"])
    flow_page = (await visitor.get(f"/console/flows/{FLOW_ID}")).text
    assert f'href="/console/flows/{FLOW_ID}/simulation"' in flow_page
    form_page = (await visitor.get(f"/console/flows/{FLOW_ID}/simulation")).text
    assert "&#34;type&#34;: &#34;signup&#34;" in form_page  # the flow's trigger as the sample event
    form = {
        "csrf": await visitor.csrf(f"/console/flows/{FLOW_ID}/simulation"),
        "contact": json.dumps(CONTACT),
        "events": "\n".join(json.dumps(event) for event in EVENTS),
        "days": "10",
    }
    answer = await visitor.post(f"/console/flows/{FLOW_ID}/simulation", form)
    assert answer.status_code == 200, answer.text[-2000:]
    shown = re.findall(ROW, answer.text)
    body = {"contact": CONTACT, "events": EVENTS, "days": 10}
    api = (await console_shop.system.scheduler.post(f"/v1/flows/{FLOW_ID}/simulate", json=body)).json()
    assert [(row, step) for row, step, _ in shown] == [(r["what"], r["step_id"] or "") for r in api["rows"]]
    assert ("message", "hello") in [(row, step) for row, step, _ in shown]


async def test_bad_input_is_named_and_nothing_runs(console_shop: ConsoleShop, visitor: Visitor) -> None:
    await visitor.sign_in(*console_shop.passwords["viewer"])
    csrf = await visitor.csrf(f"/console/flows/{FLOW_ID}/simulation")
    bad = {"csrf": csrf, "contact": "[1]", "events": '{"type": "signup"}\nnot json <b>', "days": "0"}
    answer = await visitor.post(f"/console/flows/{FLOW_ID}/simulation", bad)
    assert answer.status_code == 422
    for field in ("contact", "events", "days"):
        assert f'data-error="{field}"' in answer.text
    assert "line 2 is not JSON" in answer.text and "<b>" not in answer.text and "Timeline" not in answer.text
    unknown = {**bad, "contact": '{"shoe_size": 43}', "events": '{"type": "signup"}', "days": "5"}
    refused = await visitor.post(f"/console/flows/{FLOW_ID}/simulation", unknown)
    assert refused.status_code == 422 and 'data-error="contact"' in refused.text and "shoe_size" in refused.text
    forged = await visitor.post(f"/console/flows/{FLOW_ID}/simulation", {**bad, "csrf": "from-another-site"})
    assert forged.status_code == 403


async def test_another_workspaces_flow_cannot_be_simulated(
    console_shop: ConsoleShop, visitor: Visitor, stack: RealStack
) -> None:
    _, other_key = await new_workspace(stack)
    theirs = (
        "id: their-flow\nname: Theirs\ntriggers: [{type: event, event: signup}]\nsteps:\n  - {id: done, type: exit}\n"
    )
    published = await console_shop.system.scheduler.post(
        "/v1/flows", content=theirs, headers={"X-Api-Key": other_key, "Content-Type": "application/yaml"}
    )
    assert published.status_code == 201, published.text
    await visitor.sign_in(*console_shop.passwords["admin"])
    assert (await visitor.get("/console/flows/their-flow/simulation")).status_code == 404
    form = {"csrf": await visitor.csrf(), "contact": "{}", "events": '{"type": "signup"}', "days": "5"}
    assert (await visitor.post("/console/flows/their-flow/simulation", form)).status_code == 404
