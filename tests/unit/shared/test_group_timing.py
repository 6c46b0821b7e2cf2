"""Consumer-group timing: a heartbeat as slow as the session would get live members dropped."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dripline.devstack.broker import EMBEDDED_GROUP_TIMING
from shared.settings import CommonSettings


def test_a_heartbeat_not_shorter_than_the_session_is_refused_naming_both_settings() -> None:
    with pytest.raises(ValidationError) as refused:
        CommonSettings(kafka_session_timeout_ms=1_000, kafka_heartbeat_interval_ms=1_000)
    assert "DRIPLINE_KAFKA_HEARTBEAT_INTERVAL_MS" in str(refused.value)
    assert "DRIPLINE_KAFKA_SESSION_TIMEOUT_MS" in str(refused.value)


def test_the_embedded_broker_timing_is_valid_settings() -> None:
    settings = CommonSettings(**EMBEDDED_GROUP_TIMING)
    assert settings.kafka_heartbeat_interval_ms * 3 <= settings.kafka_session_timeout_ms
