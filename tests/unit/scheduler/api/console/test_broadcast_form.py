"""The new-broadcast form: what a marketer types becomes the API's broadcast, or an error on the right field."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from services.scheduler.api.console.broadcast_form import broadcast_from_form, schedule_fields, schedule_from_form
from services.scheduler.domain.broadcasts import (
    SegmentAudience,
    SendAt,
    SendAtBestTime,
    SendAtLocalTime,
    SendNow,
    SplitTest,
)

GOOD = {"id": "news-12", "name": "December news", "templates": "news-a, news-b", "audience": "marketing", "when": "now"}


def test_a_filled_form_is_the_broadcast_the_api_would_take() -> None:
    found, errors = broadcast_from_form(GOOD)
    assert errors == {} and found is not None
    assert found.templates == ("news-a", "news-b") and isinstance(found.schedule, SendNow) and found.per_hour is None
    later, _ = broadcast_from_form({**GOOD, "when": "at", "date": "2026-12-24", "time": "09:30", "per_hour": "500"})
    assert later is not None and later.schedule == SendAt(at=datetime(2026, 12, 24, 9, 30, tzinfo=UTC))
    assert later.per_hour == 500
    local, _ = broadcast_from_form({**GOOD, "when": "local_time", "date": "2026-12-24", "time": "09:00",
                                    "audience": "segment", "segment": "vip"})  # fmt: skip
    assert local is not None and local.schedule == SendAtLocalTime(date=date(2026, 12, 24), time=time(9))
    assert local.audience == SegmentAudience(segment="vip")
    draft, _ = broadcast_from_form({**GOOD, "when": "draft"})
    assert draft is not None and draft.schedule is None


def test_each_wrong_field_is_named_in_words_a_marketer_can_act_on() -> None:
    found, errors = broadcast_from_form({**GOOD, "id": "Not An Id", "per_hour": "fast", "when": "at", "date": "soon",
                                         "audience": "topic", "topic": "", "templates": " , "})  # fmt: skip
    assert found is None
    assert set(errors) >= {"id", "per_hour", "date", "time", "topic", "templates"}
    assert errors["per_hour"] == "'fast' is not a whole number of messages an hour"
    assert errors["date"] == "'soon' is not a date; write it like 2026-12-24"
    assert errors["id"].startswith("'Not An Id' is not an id: a-z, 0-9")
    assert "at most 64" in broadcast_from_form({**GOOD, "id": "x" * 65})[1]["id"]
    assert broadcast_from_form({**GOOD, "id": "new"})[1]["id"].startswith("'new' is the address of this form")
    assert broadcast_from_form({**GOOD, "audience": "everyone"})[1]["audience"].startswith("choose one of")
    assert broadcast_from_form({**GOOD, "when": "tomorrow"})[1]["when"].startswith("choose one of")


TESTED = {**GOOD, "exclude_segments": "bought-today, vip", "category": "marketing", "consent_topic": "newsletter",
          "test": "on", "sample_percent": "20", "wait": "4h", "metric": "clicks", "when": "best_time",
          "date": "2026-12-24", "time": "09:00", "end": "12:00"}  # fmt: skip


def test_a_test_then_send_with_exclusions_consent_and_a_best_hour_is_the_api_s_broadcast() -> None:
    found, errors = broadcast_from_form(TESTED, segments={"bought-today", "vip"})
    assert errors == {} and found is not None
    assert found.test == SplitTest(sample_percent=20, wait=timedelta(hours=4), metric="clicks")
    assert found.exclude_segments == ("bought-today", "vip") and found.topic == "newsletter"
    assert found.schedule == SendAtBestTime(date=date(2026, 12, 24), start=time(9), end=time(12))
    assert schedule_fields(found.schedule) == {
        "when": "best_time",
        "date": "2026-12-24",
        "time": "09:00",
        "end": "12:00",
    }
    assert broadcast_from_form({**TESTED, "test": ""})[0].test is None  # type: ignore[union-attr]


def test_hostile_numbers_unknown_segments_and_a_lone_variant_are_named() -> None:
    _, errors = broadcast_from_form({**TESTED, "sample_percent": "-5", "per_hour": "9" * 40, "wait": "forever",
                                     "category": "spam", "end": "08:00"}, segments={"vip"})  # fmt: skip
    assert errors["exclude_segments"] == "this workspace has no segment 'bought-today'"
    assert errors["sample_percent"].startswith("Input should be greater than or equal to 2")
    assert errors["per_hour"].startswith("Input should be less than or equal to 10000000")
    assert "'forever' is not a duration" in errors["wait"] and errors["end"].startswith("end must be after start")
    assert errors["category"].startswith("Input should be 'marketing' or 'transactional'")
    assert broadcast_from_form({**TESTED, "sample_percent": "a fifth"})[1]["sample_percent"].startswith("'a fifth'")
    lone = broadcast_from_form({**TESTED, "templates": "news-a"})[1]
    assert lone["templates"].startswith("test: a test needs two templates")
    ghost = broadcast_from_form({**GOOD, "audience": "segment", "segment": "ghost"}, segments={"vip"})[1]
    assert ghost == {"segment": "this workspace has no segment 'ghost'"}


def test_a_draft_s_schedule_is_read_with_the_api_s_checks() -> None:
    assert schedule_from_form({"when": "now"}) == (SendNow(), {})
    assert schedule_from_form({"when": "local_time", "date": "2026-12-24", "time": "09:00"})[0] == SendAtLocalTime(
        date=date(2026, 12, 24), time=time(9)
    )
    assert schedule_from_form({"when": "draft"})[1] == {"when": "choose when to send"}
    assert set(schedule_from_form({"when": "local_time", "date": "2026-13-40", "time": "09:00"})[1]) == {"date"}
    assert schedule_fields(None) == {"when": "now"}
    at = SendAt(at=datetime(2026, 12, 24, 9, 30, tzinfo=UTC))
    assert schedule_fields(at) == {"when": "at", "date": "2026-12-24", "time": "09:30"}
