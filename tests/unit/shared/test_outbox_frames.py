"""An outbox row's frame gives back exactly the records that went in, or refuses loudly."""

from __future__ import annotations

import pytest

from shared.contract.topics import ENGAGEMENT, EVENTS, MESSAGES_REQUESTED
from shared.kafka.producer import OutgoingRecord
from shared.outbox_frames import FrameError, keys_of, pack, unpack

SHARED_HEADERS = [("schema", b"MessageRequested"), ("schema-version", b"1")]


def _records() -> list[OutgoingRecord]:
    return [
        OutgoingRecord(MESSAGES_REQUESTED, "c-1", b'{"n":1}', SHARED_HEADERS),
        OutgoingRecord(EVENTS, "kontakt-ø", '{"navn":"Åse"}'.encode(), [("type", "kjøp".encode())]),
        OutgoingRecord(ENGAGEMENT, "c-1", None, []),  # a tombstone keeps its missing value
        OutgoingRecord(MESSAGES_REQUESTED, "c-2", b"\x00\xff binary", SHARED_HEADERS),
        OutgoingRecord(EVENTS, "c-3", b"", [("a", b""), ("b", b"x" * 1000)]),
    ]


def test_records_come_back_in_order_byte_for_byte() -> None:
    records = _records()
    assert unpack(pack(records)) == records


def test_each_unpacked_record_has_a_headers_list_of_its_own() -> None:
    first, second = unpack(pack([_records()[0], _records()[3]]))
    first.headers.append(("extra", b"1"))
    assert second.headers == SHARED_HEADERS


def test_an_empty_row_is_only_its_format_byte() -> None:
    assert unpack(pack([])) == []


def test_keys_are_distinct_in_first_seen_order() -> None:
    assert keys_of(_records()) == ["c-1", "kontakt-ø", "c-2", "c-3"]


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"", "unknown outbox frame format"),
        (b"\x07rest", "unknown outbox frame format"),
        (pack(_records())[:-3], "outbox frame"),
        (pack(_records())[:20], "outbox frame"),
        (pack(_records()) + b"\x00", "outbox frame"),
    ],
)
def test_a_frame_this_code_did_not_write_is_refused(frame: bytes, problem: str) -> None:
    with pytest.raises(FrameError, match=problem):
        unpack(frame)


def test_an_unknown_topic_is_refused() -> None:
    frame = bytearray(pack([OutgoingRecord(EVENTS, "k", b"v", [])]))
    name = EVENTS.name.encode()
    at = frame.index(name)
    frame[at : at + len(name)] = b"z" * len(name)
    with pytest.raises(FrameError, match="broken"):
        unpack(bytes(frame))


def test_a_key_too_long_to_frame_is_refused_when_written() -> None:
    with pytest.raises(FrameError, match="too long"):
        pack([OutgoingRecord(EVENTS, "k" * 70_000, b"v", [])])
