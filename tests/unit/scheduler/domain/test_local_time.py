"""Local-time waits land on the requested wall clock, or the next valid one across DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler.domain.durations import format_duration, parse_duration
from services.scheduler.domain.local_time import localize, next_local_time, zone

ZONES = ["Europe/Oslo", "America/New_York", "Asia/Jakarta", "Australia/Lord_Howe", "America/Sao_Paulo", "UTC"]
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))
clocks = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@settings(max_examples=300, deadline=None)
@given(after=instants, clock=clocks, name=st.sampled_from(ZONES))
def test_wait_until_local_time_lands_on_that_time_or_the_next_valid_one(
    after: datetime, clock: time, name: str
) -> None:
    tz = zone(name)
    landed = next_local_time(after, clock, tz)
    assert landed > after, "timers never go backwards"
    assert landed - after <= timedelta(days=1, hours=1)
    wall = landed.astimezone(tz)
    if wall.time() != clock:
        # Only a DST gap may move it, and then to the first instant after the gap.
        before = (landed - timedelta(seconds=1)).astimezone(tz)
        assert before.utcoffset() != wall.utcoffset()
        assert wall.time() > clock or wall.date() > before.date()


def test_time_in_spring_gap_moves_to_end_of_gap() -> None:
    landed = localize(datetime(2025, 3, 30).date(), time(2, 30), zone("Europe/Oslo"))
    assert landed.astimezone(zone("Europe/Oslo")).strftime("%H:%M") == "03:00"


def test_ambiguous_autumn_time_takes_first_occurrence() -> None:
    landed = localize(datetime(2025, 10, 26).date(), time(2, 30), zone("Europe/Oslo"))
    assert landed == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)


def test_weekday_wait_skips_to_an_allowed_day() -> None:
    saturday = datetime(2025, 6, 7, 12, 0, tzinfo=UTC)
    landed = next_local_time(saturday, time(9, 0), zone("Europe/Oslo"), frozenset({1}))
    assert landed == datetime(2025, 6, 10, 7, 0, tzinfo=UTC)


def test_unknown_time_zone_falls_back() -> None:
    assert zone("Mars/Olympus", "Europe/Oslo").key == "Europe/Oslo"


@given(seconds=st.integers(min_value=-(10**7), max_value=10**7))
def test_durations_round_trip(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value
