"""Shared test fixtures for the flow domain: example flows, a realistic policy, quick builders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from services.scheduler.domain import ContactView, Event, Flow, FrequencyCap, QuietHours, WorkspacePolicy, load_flow
from services.scheduler.domain.simulation import Timeline, parse_events, simulate

ROOT = Path(__file__).resolve().parents[3]
FLOWS = ROOT / "examples" / "flows"
TEMPLATES = ROOT / "examples" / "templates"
START = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)  # Monday 09:30 in Oslo

POLICY = WorkspacePolicy(
    time_zone="Europe/Oslo",
    grace_after_signup="10m",
    quiet_hours=QuietHours(start="21:00", end="08:00"),
    caps=(
        FrequencyCap(channel="email", max_messages=5, window="30d", since_signup=True),
        FrequencyCap(channel="email", max_messages=1, window="16h"),
    ),
)


def template_subjects() -> dict[str, str]:
    return {p.stem: yaml.safe_load(p.read_text())["subject"] for p in TEMPLATES.glob("*.yaml")}


def example(name: str) -> Flow:
    return load_flow((FLOWS / f"{name}.yaml").read_text(), f"{name}.yaml", set(template_subjects()))


def contact(**overrides: Any) -> ContactView:
    values: dict[str, Any] = {"id": "c-1", "workspace_id": "shop", "time_zone": "Europe/Oslo"}
    return ContactView.model_validate(values | overrides)


def event(kind: str, at: datetime, **data: Any) -> Event:
    return Event(id=f"{kind}-{at.isoformat()}", type=kind, at=at, data=data)


def run(
    flow_name: str,
    who: ContactView,
    records: list[dict[str, Any]],
    days: int = 60,
    policy: WorkspacePolicy = POLICY,
    start: datetime = START,
) -> Timeline:
    subjects = template_subjects()
    return simulate(
        example(flow_name), who, parse_events(records, start), start, days, policy,
        subject=lambda template, _contact: subjects[template],
    )  # fmt: skip


def lines(timeline: Timeline) -> list[str]:
    """The timeline in Oslo wall-clock time, without subjects, as a reader would check it."""
    return timeline.lines("Europe/Oslo")
