"""The `flows` commands, driven through typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dripline.flows_cli import flows_app

from .support import FLOWS, TEMPLATES

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


def test_simulate_prints_the_timeline(tmp_path: Path) -> None:
    contact = tmp_path / "contact.json"
    contact.write_text(json.dumps({"id": "c-1", "time_zone": "Europe/Oslo", "attributes": {"birthday": "1990-03-30"}}))
    events = tmp_path / "events.jsonl"
    events.write_text("")
    args = ["simulate", str(FLOWS / "birthday.yaml"), "--contact", str(contact), "--events", str(events)]
    result = runner.invoke(flows_app, [*args, "--start", "2025-03-01T00:00:00Z", "--days", "40",
                                       "--templates", str(TEMPLATES)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2025-03-30 09:00" in result.output
    assert "birthday-offer" in result.output


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
