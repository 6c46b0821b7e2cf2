"""How records look on the wire: JSON values, UTF-8 keys, a few descriptive headers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from shared.contract.topics import Topic
from shared.errors import Permanent

Headers = list[tuple[str, bytes]]


def encode_value(record: BaseModel) -> bytes:
    return record.__pydantic_serializer__.to_json(record)


def headers_for(record: BaseModel) -> Headers:
    """Headers let a consumer route or filter without parsing the value."""
    values = record.__dict__  # the fields; getattr of a missing one raises inside pydantic, which is slow
    event_type = values.get("type") or values.get("kind")
    version = values.get("schema_version")
    return headers_of(
        type(record).__name__,
        version if isinstance(version, int) else None,
        event_type if isinstance(event_type, str) else None,
    )


def headers_of(schema: str, version: int | None, event_type: str | None) -> Headers:
    """The headers of a record of `schema`, for writers that encode records without building the model."""
    headers: Headers = [("schema", schema.encode())]
    if version is not None:
        headers.append(("schema-version", str(version).encode()))
    if event_type is not None:
        headers.append(("event-type", event_type.encode()))
    return headers


def decode_value(topic: Topic, value: bytes | None) -> Any:
    """Parse a record of `topic`; a record that does not fit the schema is Permanent (dead letters)."""
    if value is None:
        return None
    try:
        return topic.adapter().validate_json(value)
    except ValidationError as error:
        # Name the fields and the problems, not the values: a reason must not copy personal data around.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or '$'}: {e['msg']}" for e in error.errors()[:5]
        )
        raise Permanent(f"record does not match {topic.name} schema: {problems}") from error
