"""The bytes of an outbox row: consecutive records a transaction enqueued, framed back to back.

Many records per row instead of one is what keeps the outbox cheap: a timer batch writes hundreds
of records, and each row costs PostgreSQL a heap tuple, an index entry, a delete and a vacuum.
Rows are cut at a size that stays inline and uncompressed (`ROW_BYTES`). The frame is plain
length-prefixed binary, so values are kept byte for byte and a tombstone (no value) survives.

Layout, after a leading format byte (1): per record, four big-endian lengths (topic u8, key u16,
value i32 with -1 for no value, headers u16), then those four fields. The headers field holds a
count (u8) and each header's name (u8 length) and value (u16 length).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from shared.contract.topics import Topic, by_name
from shared.kafka.codec import Headers
from shared.kafka.producer import OutgoingRecord

__all__ = ["ROW_BYTES", "FrameError", "pack", "pack_rows", "unpack"]

FORMAT = 1
_FORMAT_BYTE = bytes([FORMAT])
# A row this size stays inline in its heap page (the table's toast_tuple_target is 8160 bytes):
# a bigger one would be compressed and cut into TOAST chunks, which cost more than the rows saved.
ROW_BYTES = 7_600
_NO_VALUE = -1
_LENGTHS = struct.Struct("!BHiH")
_COUNT = struct.Struct("!B")
_HEADER_VALUE = struct.Struct("!H")


class FrameError(ValueError):
    """A row that is not a frame this code wrote: never skipped silently, since records would be lost."""


def pack(records: Sequence[OutgoingRecord]) -> bytes:
    """One frame holding every record, in order."""
    return b"".join([_FORMAT_BYTE, *_framed(records)])


def pack_rows(records: Sequence[OutgoingRecord], max_bytes: int = ROW_BYTES) -> list[tuple[int, bytes]]:
    """Consecutive records in frames of at most `max_bytes` (a bigger record gets a frame of its own),
    each with its record count: the rows one transaction adds to the outbox."""
    rows: list[tuple[int, bytes]] = []
    parts: list[bytes] = []
    size = count = 0
    for record in _framed(records):
        if count and size + len(record) > max_bytes - 1:
            rows.append((count, b"".join([_FORMAT_BYTE, *parts])))
            parts, size, count = [], 0, 0
        parts.append(record)
        size += len(record)
        count += 1
    if count:
        rows.append((count, b"".join([_FORMAT_BYTE, *parts])))
    return rows


def _framed(records: Sequence[OutgoingRecord]) -> list[bytes]:
    """Each record's bytes in the frame layout."""
    framed_records: list[bytes] = []
    # Writers share one headers list per kind of record, so each distinct list is framed once.
    framed_headers: dict[int, tuple[Headers, bytes]] = {}
    for record in records:
        topic = record.topic.name.encode()
        key = record.key.encode()
        framed = framed_headers.get(id(record.headers))
        if framed is None or framed[0] is not record.headers:
            framed = framed_headers[id(record.headers)] = (record.headers, _pack_headers(record.headers))
        headers = framed[1]
        value = record.value
        if len(topic) > 0xFF or len(key) > 0xFFFF:
            raise FrameError(f"topic or key too long to frame: {record.topic.name!r}, {len(key)} bytes of key")
        if value is None:
            lengths = _LENGTHS.pack(len(topic), len(key), _NO_VALUE, len(headers))
            framed_records.append(b"".join((lengths, topic, key, headers)))
        else:
            lengths = _LENGTHS.pack(len(topic), len(key), len(value), len(headers))
            framed_records.append(b"".join((lengths, topic, key, value, headers)))
    return framed_records


def _pack_headers(headers: Headers) -> bytes:
    parts = [_COUNT.pack(len(headers))]
    for name, value in headers:
        encoded = name.encode()
        if len(encoded) > 0xFF or len(value) > 0xFFFF:
            raise FrameError(f"header {name!r} too long to frame")
        parts += (_COUNT.pack(len(encoded)), encoded, _HEADER_VALUE.pack(len(value)), value)
    framed = b"".join(parts)
    if len(headers) > 0xFF or len(framed) > 0xFFFF:
        raise FrameError(f"{len(headers)} headers, {len(framed)} bytes: too many to frame")
    return framed


def unpack(frame: bytes) -> list[OutgoingRecord]:
    if not frame or frame[0] != FORMAT:
        raise FrameError(f"unknown outbox frame format {frame[:1]!r}")
    records: list[OutgoingRecord] = []
    topics: dict[bytes, Topic] = {}
    headers_of: dict[bytes, Headers] = {}
    at, end = 1, len(frame)
    try:
        while at < end:
            topic_length, key_length, value_length, headers_length = _LENGTHS.unpack_from(frame, at)
            at += _LENGTHS.size
            name = frame[at : at + topic_length]
            at += topic_length
            topic = topics.get(name)
            if topic is None:
                topic = topics[name] = by_name(name.decode())
            key = frame[at : at + key_length].decode()
            at += key_length
            value = None
            if value_length != _NO_VALUE:
                value = frame[at : at + value_length]
                at += value_length
            framed = frame[at : at + headers_length]
            at += headers_length
            headers = headers_of.get(framed)
            if headers is None:
                headers = headers_of[framed] = _unpack_headers(framed)
            # Each record gets its own list: a consumer of the records may append to one.
            records.append(OutgoingRecord(topic, key, value, list(headers)))
    except (struct.error, IndexError, KeyError, UnicodeDecodeError) as error:
        raise FrameError(f"outbox frame broken at byte {at}: {error!r}") from error
    if at != end:
        raise FrameError(f"outbox frame ends inside a record ({at} of {end} bytes)")
    return records


def _unpack_headers(framed: bytes) -> Headers:
    headers: Headers = []
    at = 1
    for _ in range(framed[0]):
        length = framed[at]
        name = framed[at + 1 : at + 1 + length].decode()
        at += 1 + length
        (length,) = _HEADER_VALUE.unpack_from(framed, at)
        headers.append((name, framed[at + 2 : at + 2 + length]))
        at += 2 + length
    if at != len(framed):
        raise FrameError("outbox frame: headers do not match their length")
    return headers
