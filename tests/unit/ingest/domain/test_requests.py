"""The rules at ingest's door, piece by piece: field types, free-form objects, bodies and error answers."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from services.ingest.api.bodies import _gunzip, _media_refusal, _utf8_problem
from services.ingest.api.errors import describe, json_path, unreadable
from services.ingest.domain.requests import BatchIn, ContactRef, EventIn
from shared.contract.contacts import ContactChanged
from shared.contract.fields import EventName, Id, Timestamp, TimeZoneName, free_form

IDS: TypeAdapter[str] = TypeAdapter(Id)
NAMES: TypeAdapter[str] = TypeAdapter(EventName)
EVENTS: TypeAdapter[Any] = TypeAdapter(EventIn)


def refused(adapter: TypeAdapter[Any], value: Any) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return True
    return False


@pytest.mark.parametrize(
    "contact_id", ["5f0c6f1e2b8a4c1d9e7f3a2b1c0d9e8f", "kari.nordmann+news@example.com", "run-1:7", "c", "c" * 128]
)
def test_real_world_ids_pass(contact_id: str) -> None:
    assert IDS.validate_python(contact_id) == contact_id


@pytest.mark.parametrize(
    "contact_id", ["", "abc\n", "c\x001", "../../etc/passwd", "\x1b[31mred", "c" * 129, "-leading", "with space"]
)
def test_ids_outside_the_pattern_are_refused(contact_id: str) -> None:
    assert refused(IDS, contact_id)


def test_event_names_take_letters_of_any_script_and_inner_spaces() -> None:
    for name in ("coupon_redeemed", "Order Completed", "kjøpt", "n" * 128):
        assert NAMES.validate_python(name) == name
    for name in ("", " leading", "trailing ", "a\tb", "a/b", "n" * 129):
        assert refused(NAMES, name)


def test_timestamps_hold_to_1970_through_2200_in_utc() -> None:
    stamps: TypeAdapter[datetime] = TypeAdapter(Timestamp)
    assert stamps.validate_python("2200-12-31T23:59:59Z") == datetime(2200, 12, 31, 23, 59, 59, tzinfo=UTC)
    for stamp in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z"):
        assert refused(stamps, stamp)


def test_time_zones_are_iana_names() -> None:
    zones: TypeAdapter[str] = TypeAdapter(TimeZoneName)
    assert zones.validate_python("Europe/Oslo") == "Europe/Oslo"
    for zone in ("Mars/Olympus", "europe/oslo", "Factory", "localtime", ""):
        assert refused(zones, zone)


def test_free_form_objects_take_json_with_multi_line_text() -> None:
    value = {"note": "one\ntwo\tthree", "n": 2**63 - 1, "x": -1.5, "ok": True, "none": None, "list": [[1], {"a": "b"}]}
    assert free_form(value) is value


@pytest.mark.parametrize(
    ("value", "location"),
    [
        ({"a": "x\x00"}, ("a",)),
        ({"a\x00": 1}, ("a\x00",)),
        ({"": 1}, ("",)),
        ({"a": [1, {"b": float("nan")}]}, ("a", 1, "b")),
        ({"a": float("inf")}, ("a",)),
        ({"a": 2**63}, ("a",)),
        ({"a": -(2**63) - 1}, ("a",)),
        ({"a": "\ud800"}, ("a",)),
        ({"a": "\x1b[2J"}, ("a",)),
        ({"k" * 201: 1}, ("k" * 201,)),
        ({"a": [[[[[[[[[[1]]]]]]]]]]}, ("a", *[0] * 9)),  # the 11th level
    ],
)
def test_free_form_problems_are_located_inside_the_object(value: dict[str, Any], location: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as raised:
        free_form(value)
    assert raised.value.errors()[0]["loc"] == location


def test_free_form_objects_are_bounded_in_size() -> None:
    with pytest.raises(ValidationError, match="more than 10,000 values"):
        free_form({"many": list(range(10_001))})


def test_an_event_names_each_bad_field_with_a_reason_a_person_can_act_on() -> None:
    body = {"type": "track", "name": "a\x00b", "contact": {"contact_id": "c\n", "timezone": "Mars/Olympus"}}
    with pytest.raises(ValidationError) as raised:
        EVENTS.validate_python(body)
    described = describe([{**e, "loc": ("body", *e["loc"])} for e in raised.value.errors()])
    reasons = {problem["path"]: problem["reason"] for problem in described}
    assert set(reasons) == {"$.name", "$.contact.contact_id", "$.contact.timezone"}
    assert "letters, digits" in reasons["$.name"] and "IANA" in reasons["$.contact.timezone"]


def test_booleans_are_true_or_false_only() -> None:
    assert refused(TypeAdapter(BatchIn), {"events": [], "partial": "yes"})
    assert refused(EVENTS, {"type": "signup", "contact": {"email": "a@example.com"}, "consent": {"marketing": 1}})
    assert TypeAdapter(BatchIn).validate_python({"events": [], "partial": True}).partial is True


def test_a_profile_kept_from_before_the_rules_still_travels_but_a_shop_cannot_send_it() -> None:
    legacy = {"timezone": "Mars/Olympus", "first_name": "Ka\x1bri", "tags": [""]}
    envelope = {"event_id": "e-1", "workspace_id": "w", "contact_id": "c", "occurred_at": "2026-01-01T00:00:00Z"}
    record = ContactChanged(**legacy, **envelope, received_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert record.timezone == "Mars/Olympus"
    with pytest.raises(ValidationError) as raised:
        ContactRef(email="a@example.com", **legacy)
    assert {error["loc"][0] for error in raised.value.errors()} == {"timezone", "first_name", "tags"}


@pytest.mark.parametrize(
    ("content_type", "encoding", "refused_for"),
    [
        (b"application/json", b"", None),
        (b"application/json; charset=utf-8", b"gzip", None),
        (b"application/vnd.shop+json", b"identity", None),
        (b"", b"", b"header.content-type"),
        (b"text/plain", b"", b"header.content-type"),
        (b"application/json; charset=latin-1", b"", b"header.content-type"),
        (b"application/json", b"br", b"header.content-encoding"),
        (b"application/json", b"gzip, gzip", b"header.content-encoding"),
    ],
)
def test_only_json_bodies_plain_or_gzipped_come_in(
    content_type: bytes, encoding: bytes, refused_for: bytes | None
) -> None:
    refusal = _media_refusal(content_type, encoding)
    assert (refusal is None) == (refused_for is None)
    if refused_for is not None:
        assert refusal is not None and refused_for in refusal


def test_gzip_unpacks_within_the_limit_only() -> None:
    assert _gunzip(gzip.compress(b'{"a": 1}'), 100) == b'{"a": 1}'
    bomb = _gunzip(gzip.compress(b" " * 10_000), 1_000)
    assert isinstance(bomb, tuple) and bomb[0] == 413 and b"unpacks to more than 1000 bytes" in bomb[1]
    assert _gunzip(b"not gzip", 100)[0] == 400
    assert _gunzip(gzip.compress(b"{}")[:-4], 100)[0] == 400
    assert _gunzip(gzip.compress(b"{}") + b"trailing", 100)[0] == 400


def test_bodies_must_be_utf8_without_a_byte_order_mark() -> None:
    assert _utf8_problem('{"name": "kjøpt"}'.encode()) is None
    assert "UTF-8" in str(_utf8_problem('{"name": "kjøpt"}'.encode("latin-1")))
    assert "byte order mark" in str(_utf8_problem(b"\xef\xbb\xbf{}"))


def test_paths_outside_the_body_name_where_they_are() -> None:
    assert json_path(("path", "contact_id")) == "path.contact_id"
    assert json_path(("header", "content-type")) == "header.content-type"
    assert json_path(("body", "subscriptions", "../x", "[key]")) == "$.subscriptions.../x"


def test_an_unreadable_body_is_told_apart_from_a_wrong_one() -> None:
    assert unreadable([{"type": "json_invalid", "loc": (), "msg": "x", "ctx": {"error": "EOF while parsing"}}]) == (
        "body is not valid UTF-8 JSON: EOF while parsing"
    )
    assert unreadable([{"type": "missing", "loc": ("body", "name"), "msg": "Field required"}]) is None
