"""The `flows` commands, driven through typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dripline.flows_cli import flows_app
from tests.unit.scheduler.support import FLOWS, TEMPLATES

runner = CliRunner()


def test_validate_accepts_every_example_flow() -> None:
    result = runner.invoke(flows_app, ["validate", str(FLOWS), "--templates", str(TEMPLATES)])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == len(list(FLOWS.glob("*.yaml")))


def test_validate_reports_file_line_and_reason(tmp_path: Path) -> None:
    flow = tmp_path / "broken.yaml"
    flow.write_text("id: broken\nname: Broken\ntriggers: [{type: api}]\nsteps:\n  - id: a\n    type: send\n"
                    "    template: nope\n")  # fmt: skip
    result = runner.invoke(flows_app, ["validate", str(flow), "--templates", str(TEMPLATES)])
    assert result.exit_code == 1
    assert f"{flow}:7: step 'a' uses unknown template 'nope'" in result.output.replace("\n", "")


def test_validate_rejects_a_template_variable_the_flow_cannot_provide(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    for source in TEMPLATES.glob("*.yaml"):
        (templates / source.name).write_text(source.read_text())
    cart = templates / "cart-reminder.yaml"
    cart.write_text(cart.read_text().replace('href="{{ event.cart_url }}"', 'href="{{ event.cart_link }}"'))
    flow = tmp_path / "cart.yaml"
    flow.write_text(
        "id: cart\nname: Cart\ntriggers: [{type: event, event: cart_abandoned}]\nsteps:\n"
        "  - {id: remind, type: send, template: cart-reminder}\n"
        "  - {id: tell, type: notify, url: 'https://crm.example/h', payload: {who: '{{ contact.company }}'}}\n"
    )
    result = runner.invoke(flows_app, ["validate", str(flow), "--templates", str(templates)])
    assert result.exit_code == 1
    output = result.output.replace("\n", "")
    assert f"{cart}:12: html: event.cart_link is not a field of cart_abandoned events" in output
    assert f"{flow}:6: notify step 'tell', payload.who: contact.company is not a profile field; custom" in output


def test_simulate_prints_the_timeline(tmp_path: Path) -> None:
    contact = tmp_path / "contact.json"
    contact.write_text(json.dumps({"id": "c-1", "time_zone": "Europe/Oslo", "attributes": {"birthday": "1990-03-30"}}))
    events = tmp_path / "events.jsonl"
    events.write_text("")
    args = ["simulate", str(FLOWS / "birthday.yaml"), "--contact", str(contact), "--events", str(events)]
    result = runner.invoke(flows_app, [*args, "--start", "2025-03-01T00:00:00Z", "--days", "40",
                                       "--templates", str(TEMPLATES)], env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2025-03-30 09:00 +02:00" in result.output  # summer time in Oslo by then
    assert "birthday-offer" in result.output


def test_simulate_prints_winter_times_with_their_utc_offset(tmp_path: Path) -> None:
    contact = tmp_path / "contact.json"
    contact.write_text(json.dumps({"id": "c-1", "time_zone": "Europe/Oslo", "attributes": {"first_name": "Kari"}}))
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"type": "signup", "at": "2025-03-29T10:00:00Z"}) + "\n")
    args = ["simulate", str(FLOWS / "welcome-series.yaml"), "--contact", str(contact), "--events", str(events)]
    result = runner.invoke(flows_app, [*args, "--start", "2025-03-29T09:00:00Z", "--days", "3"],
                           env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2025-03-29 11:00 +01:00" in result.output  # the sign-up, the day before summer time


def test_simulate_shows_subjects_as_the_contact_reads_them() -> None:
    examples = FLOWS.parent / "simulate"
    args = ["simulate", str(FLOWS / "welcome-series.yaml"), "--templates", str(TEMPLATES)]
    args += ["--contact", str(examples / "kari.json"), "--events", str(examples / "signup.jsonl")]
    result = runner.invoke(
        flows_app, [*args, "--start", "2026-11-25T09:00:00+01:00", "--days", "5"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "Welcome, Kari" in result.output
    assert "{{" not in result.output


def test_validate_spells_custom_attributes_in_conditions_as_in_templates(tmp_path: Path) -> None:
    flow = tmp_path / "b2b.yaml"
    flow.write_text(
        "id: b2b\nname: B2B\ntriggers: [{type: event, event: signup}]\nsteps:\n  - id: by-company\n    type: branch\n"
        "    conditions:\n      - {when: 'contact.company == \"Fjord AS\"', next: done}\n    else: done\n"
        "  - {id: done, type: exit}\n"
    )
    result = runner.invoke(flows_app, ["validate", str(flow), "--templates", str(TEMPLATES)])
    assert result.exit_code == 1
    assert f"{flow}:8: contact.company is not a field of the contact; custom attributes are" in result.output.replace(
        "\n", ""
    )
