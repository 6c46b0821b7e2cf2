"""A verified token plus request facts becomes one engagement record; the pixel is a real GIF."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.tracker.domain.engagement import engagement_record
from services.tracker.domain.machine import Verdict
from services.tracker.domain.pixel import TRANSPARENT_GIF
from shared.tokens import KeyRing, TokenClaims, TokenKind

KEYS = KeyRing([("k1", b"test-secret-0123456789abcdef")])
AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_click_token_becomes_a_clicked_record_with_all_ids() -> None:
    token = KEYS.sign(TokenClaims(TokenKind.CLICK, "m1", "w1", "c1", 1, "f1", "s1", "https://shop.example/p"))
    record = engagement_record(KEYS.verify(token, TokenKind.CLICK), Verdict(True, "HEAD request"), AT)
    assert record == {
        "kind": "clicked",
        "message_id": "m1",
        "workspace_id": "w1",
        "contact_id": "c1",
        "flow_id": "f1",
        "step_id": "s1",
        "url": "https://shop.example/p",
        "machine": True,
        "reason": "HEAD request",
        "occurred_at": "2024-03-01T12:00:00+00:00",
    }


@pytest.mark.parametrize(("kind", "name"), [(TokenKind.OPEN, "opened"), (TokenKind.UNSUB, "unsubscribed")])
def test_open_and_unsubscribe_tokens_name_their_event(kind: TokenKind, name: str) -> None:
    record = engagement_record(TokenClaims(kind, "m", "w", "c", 1), Verdict(False), AT)
    assert record["kind"] == name and record["url"] is None and record["machine"] is False


def test_preferences_token_records_no_engagement() -> None:
    with pytest.raises(ValueError):
        engagement_record(TokenClaims(TokenKind.PREFS, "m", "w", "c", 1), Verdict(False), AT)


def test_pixel_is_a_one_by_one_gif() -> None:
    assert TRANSPARENT_GIF.startswith(b"GIF89a")
    assert TRANSPARENT_GIF[6:10] == b"\x01\x00\x01\x00"
    assert TRANSPARENT_GIF.endswith(b";")
