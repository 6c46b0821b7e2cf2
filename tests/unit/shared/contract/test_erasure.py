"""contacts.changes forgets an erased contact's profiles within the deadline; contacts.erased tells the rest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.contract.erasure import DAY_MS, HOUR_MS, erasure_notice
from shared.contract.topics import CONTACTS, ERASED, EVERY_TOPIC
from shared.settings import CommonSettings


@pytest.mark.parametrize("hours", [24.0, 8.0])
def test_a_tombstone_replaces_the_profiles_before_it_within_the_deadline(hours: float) -> None:
    config = CONTACTS.config(hours)
    deadline = hours * HOUR_MS
    # Rolled out of the active segment by segment.ms, compacted by max.compaction.lag.ms after it was written.
    assert int(config["segment.ms"]) + int(config["max.compaction.lag.ms"]) < deadline
    assert config["cleanup.policy"] == "compact" and float(config["min.cleanable.dirty.ratio"]) <= 0.5
    assert int(config["delete.retention.ms"]) >= DAY_MS  # consumers a day behind still see the tombstone


def test_the_default_deadline_is_the_settings_default() -> None:
    assert CONTACTS.config() == CONTACTS.config(CommonSettings.model_fields["erasure_deadline_hours"].default)


def test_only_the_profile_topic_is_compacted() -> None:
    assert [topic for topic in EVERY_TOPIC if topic.compacted] == [CONTACTS]


def test_the_erasure_notice_names_the_contact_and_nothing_personal() -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    notice = erasure_notice("shop-a", "c-1", at)
    assert notice.model_dump(exclude={"event_id"}) == {
        "workspace_id": "shop-a",
        "contact_id": "c-1",
        "occurred_at": at,
        "received_at": at,
        "schema_version": 1,
        "erased_at": at,
    }
    assert notice.event_id == erasure_notice("shop-a", "c-1", datetime.now(UTC)).event_id  # a repeat is dropped
    assert notice.event_id != erasure_notice("shop-b", "c-1", at).event_id
    assert ERASED.key_of(notice) == "c-1" and int(ERASED.config()["retention.ms"]) == 30 * DAY_MS
