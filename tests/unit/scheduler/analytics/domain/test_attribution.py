"""A purchase goes to the last message clicked within 5 days, else the last opened within 1 day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.scheduler.analytics.domain.attribution import AnalyticsSettings, Touch, attribute

BUY = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
DEFAULT = AnalyticsSettings()


def ago(**delta: float) -> datetime:
    return BUY - timedelta(**delta)


def test_the_last_click_wins_over_a_later_open() -> None:
    touches = [
        Touch("m-old", None, ago(days=4)),
        Touch("m-new", ago(days=2), ago(days=3)),
        Touch("m-open", ago(hours=1), None),
    ]
    credit = attribute(BUY, touches, DEFAULT)
    assert credit is not None and (credit.message_id, credit.touch) == ("m-new", "clicked")


def test_an_open_counts_only_within_a_day_and_only_without_a_click() -> None:
    assert attribute(BUY, [Touch("m", ago(hours=20), None)], DEFAULT) is not None
    assert attribute(BUY, [Touch("m", ago(hours=30), None)], DEFAULT) is None


def test_clicks_older_than_the_window_or_after_the_purchase_do_not_count() -> None:
    assert attribute(BUY, [Touch("m", None, ago(days=6))], DEFAULT) is None
    assert attribute(BUY, [Touch("m", None, BUY + timedelta(minutes=1))], DEFAULT) is None


def test_windows_are_configurable() -> None:
    narrow = AnalyticsSettings.model_validate({"click_window": "1h", "open_window": "10m"})
    assert attribute(BUY, [Touch("m", None, ago(hours=2))], narrow) is None
    assert attribute(BUY, [Touch("m", ago(minutes=5), ago(hours=2))], narrow) is not None
