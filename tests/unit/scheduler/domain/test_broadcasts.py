"""A broadcast as typed data, its lifecycle, and when its send starts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from pydantic import ValidationError

from services.scheduler.domain.broadcasts import (
    Broadcast,
    RefusedChange,
    SendAtBestTime,
    SendAtLocalTime,
    SendNow,
    next_state,
    starts_at,
    unknown_segments,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _broadcast(**changes: object) -> Broadcast:
    fields: dict[str, object] = {
        "id": "dec-news", "name": "December", "templates": ["news"], "audience": {"kind": "segment", "segment": "vip"},
    }  # fmt: skip
    return Broadcast.model_validate({**fields, **changes})


def test_audience_and_schedule_are_read_by_their_kind() -> None:
    found = _broadcast(
        audience={"kind": "topic", "topic": "newsletter"},
        schedule={"kind": "local_time", "date": "2026-12-24", "time": "09:00"},
    )
    assert found.audience.kind == "topic"
    assert found.schedule == SendAtLocalTime(date=date(2026, 12, 24), time=time(9, 0))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"templates": []}, "templates"),
        ({"audience": {"kind": "segment"}}, "audience.segment.segment"),
        ({"audience": {"kind": "everyone"}}, "audience"),
        ({"per_hour": 0}, "per_hour"),
        ({"channel": "webhook"}, "channel"),
        (
            {"schedule": {"kind": "best_time", "date": "2026-12-24", "start": "10:00", "end": "09:00"}},
            "schedule.best_time",
        ),
    ],
)
def test_a_bad_broadcast_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _broadcast(**changes)
    named = [".".join(str(part) for part in error["loc"]) or error["msg"] for error in refused.value.errors()]
    assert any(name.startswith(field) or f"{field}:" in name for name in named), named


def test_segments_the_workspace_does_not_have_are_named_by_their_field() -> None:
    found = _broadcast(exclude_segments=["bought-today", "vip", "gone"])
    assert unknown_segments(found, {"vip"}) == [
        (("exclude_segments", 0), "this workspace has no segment 'bought-today'"),
        (("exclude_segments", 2), "this workspace has no segment 'gone'"),
    ]
    assert unknown_segments(_broadcast(), {"bought-today"}) == [
        (("audience", "segment"), "this workspace has no segment 'vip'")
    ]
    assert unknown_segments(_broadcast(audience={"kind": "marketing"}), set()) == []


def test_lifecycle_goes_draft_scheduled_sending_sent() -> None:
    state = next_state("draft", "schedule", resolved=False)
    assert state == "scheduled"
    state = next_state(state, "start", resolved=False)
    assert state == "sending"
    assert next_state(state, "finish", resolved=True) == "sent"


def test_a_paused_send_resumes_sending_and_a_paused_schedule_resumes_waiting() -> None:
    assert next_state(next_state("sending", "pause", resolved=True), "resume", resolved=True) == "sending"
    assert next_state(next_state("scheduled", "pause", resolved=False), "resume", resolved=False) == "scheduled"


@pytest.mark.parametrize(("state", "command"), [("sent", "cancel"), ("cancelled", "resume"), ("draft", "pause"),
                                                  ("sending", "schedule"), ("paused", "start")])  # fmt: skip
def test_what_a_state_does_not_allow_is_refused(state: str, command: str) -> None:
    with pytest.raises(RefusedChange, match=f"a {state} broadcast cannot {command}"):
        next_state(state, command, resolved=True)  # type: ignore[arg-type]


def test_a_local_time_send_starts_when_that_time_first_comes_on_earth() -> None:
    # 09:00 on the 24th in Kiritimati (UTC+14) is 19:00 UTC on the 23rd.
    assert starts_at(SendAtLocalTime(date=date(2026, 12, 24), time=time(9, 0)), NOW) == datetime(
        2026, 12, 23, 19, 0, tzinfo=UTC
    )
    assert starts_at(SendAtBestTime(date=date(2026, 12, 24), start=time(8, 0), end=time(12, 0)), NOW) == datetime(
        2026, 12, 23, 18, 0, tzinfo=UTC
    )
    assert starts_at(SendNow(), NOW) == NOW
