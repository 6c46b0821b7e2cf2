"""Hits are encoded without a model, yet the bytes are exactly what the contract's serializer writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from services.tracker.domain.machine import HUMAN, Verdict
from services.tracker.usecases.hits import engagement, hit_event_id, utc_stamp
from shared.contract.internal import Engagement
from shared.contract.topics import ENGAGEMENT
from shared.kafka.codec import encode_value, headers_for
from shared.tokens import TokenClaims, TokenKind

SCHEMA = Draft202012Validator(
    json.loads((Path(__file__).parents[4] / "docs/schemas/messages.engagement.json").read_text()),
    format_checker=Draft202012Validator.FORMAT_CHECKER,
)
AT = datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC).timestamp()
CLICK = TokenClaims(TokenKind.CLICK, "m-1", "w-1", "c-1", 1_700_000_000, "f-1", "s-1", "https://shop.example/p?a=1")
OPEN = TokenClaims(TokenKind.OPEN, "m-2", "w-1", "c-2", 1_700_000_000)
BROADCAST_CLICK = TokenClaims(
    TokenKind.CLICK, "m-3", "w-1", "c-3", 1_700_000_000, url="https://shop.example/sale", broadcast_id="spring-sale"
)


def as_the_contract_writes(claims: TokenClaims, kind: str, verdict: Verdict, event_id: str, now: float) -> bytes:
    moment = datetime.fromisoformat(utc_stamp(now))
    return encode_value(
        Engagement(
            event_id=event_id,
            workspace_id=claims.workspace_id,
            contact_id=claims.contact_id,
            occurred_at=moment,
            received_at=moment,
            flow_id=claims.flow_id,
            step_id=claims.step_id,
            broadcast_id=claims.broadcast_id,
            message_id=claims.message_id,
            kind=kind,  # type: ignore[arg-type]
            url=claims.url,
            machine=verdict.machine,
            machine_reason=verdict.reason,
        )
    )


@pytest.mark.parametrize(
    ("claims", "kind", "verdict"),
    [
        (OPEN, "opened", HUMAN),
        (OPEN, "opened", Verdict(True, "apple mail privacy protection")),
        (CLICK, "clicked", HUMAN),
        (CLICK, "clicked", Verdict(True, "3 clicks within 5s")),
        (BROADCAST_CLICK, "clicked", HUMAN),
    ],
)
def test_a_hit_record_is_byte_for_byte_the_contracts_engagement(
    claims: TokenClaims, kind: str, verdict: Verdict
) -> None:
    event_id = hit_event_id(kind[0], "token", AT)
    record = engagement(claims, kind, verdict, event_id=event_id, now=AT)

    assert record.value == as_the_contract_writes(claims, kind, verdict, event_id, AT)
    assert record.topic is ENGAGEMENT and record.key == claims.contact_id
    assert record.headers == headers_for(Engagement.model_construct(kind=kind, schema_version=1))
    assert list(SCHEMA.iter_errors(orjson.loads(record.value or b""))) == []


@given(
    ids=st.lists(st.text(min_size=1, max_size=20), min_size=3, max_size=3),
    now=st.floats(min_value=1e9, max_value=4e9),
)
def test_any_ids_and_any_time_are_written_as_the_contract_writes_them(ids: list[str], now: float) -> None:
    message_id, workspace_id, contact_id = ids
    claims = TokenClaims(TokenKind.CLICK, message_id, workspace_id, contact_id, 1, None, None, "https://x.example/")
    record = engagement(claims, "clicked", HUMAN, event_id="c-1", now=now)

    assert record.value == as_the_contract_writes(claims, "clicked", HUMAN, "c-1", now)
    assert ENGAGEMENT.adapter().validate_json(record.value or b"").contact_id == contact_id


@pytest.mark.parametrize(
    ("now", "text"),
    [
        (datetime(2024, 3, 1, 12, 0, tzinfo=UTC).timestamp(), "2024-03-01T12:00:00Z"),
        (datetime(2024, 3, 1, 12, 0, 0, 5, tzinfo=UTC).timestamp(), "2024-03-01T12:00:00.000005Z"),
        (datetime(2024, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC).timestamp(), "2024-12-31T23:59:59.999999Z"),
    ],
)
def test_times_are_utc_with_microseconds_only_when_there_are_some(now: float, text: str) -> None:
    assert utc_stamp(now) == text


def test_every_hit_on_the_same_link_at_the_same_moment_gets_its_own_id() -> None:
    ids = {hit_event_id("o", "same-token", AT) for _ in range(100)}
    assert len(ids) == 100
    assert all(SCHEMA.is_valid(json.loads(as_the_contract_writes(OPEN, "opened", HUMAN, i, AT))) for i in ids)
