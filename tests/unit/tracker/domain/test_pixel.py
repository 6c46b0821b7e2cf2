"""The open pixel is a real one-by-one GIF."""

from __future__ import annotations

from services.tracker.domain.pixel import TRANSPARENT_GIF


def test_pixel_is_a_one_by_one_gif() -> None:
    assert TRANSPARENT_GIF.startswith(b"GIF89a")
    assert TRANSPARENT_GIF[6:10] == b"\x01\x00\x01\x00"
    assert TRANSPARENT_GIF.endswith(b";")
