"""An outbox row's frame gives back exactly the records that went in, or refuses loudly."""

from __future__ import annotations

import pytest

from shared.contract.topics import ENGAGEMENT, EVENTS, MESSAGES_REQUESTED
from shared.kafka.producer import OutgoingRecord
from shared.outbox_frames import FrameError, pack, pack_rows, unpack

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


def test_rows_are_cut_at_the_size_given_and_hold_every_record_in_order() -> None:
    records = [OutgoingRecord(EVENTS, f"c-{n}", b"x" * 300, SHARED_HEADERS) for n in range(100)]
    rows = pack_rows(records, max_bytes=2_000)
    assert len(rows) > 1
    assert all(len(frame) <= 2_000 for _, frame in rows)
    assert [record for _, frame in rows for record in unpack(frame)] == records
    assert [count for count, _ in rows] == [len(unpack(frame)) for _, frame in rows]


def test_a_record_bigger_than_a_row_gets_a_row_of_its_own() -> None:
    small, big = (OutgoingRecord(EVENTS, "c", b"x" * size, []) for size in (10, 5_000))
    rows = pack_rows([small, big, small], max_bytes=1_000)
    assert [count for count, _ in rows] == [1, 1, 1]
    assert [unpack(frame) for _, frame in rows] == [[small], [big], [small]]


def test_no_records_make_no_rows() -> None:
    assert pack_rows([]) == []


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
