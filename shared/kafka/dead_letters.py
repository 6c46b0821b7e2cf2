"""Dead letters: a record a consumer gave up on, with its reason, and without personal data.

The dead-letter topic is kept for 30 days and read by operators, so a dead letter keeps only the
record's ids (enough to find it at `source-topic`/`source-partition`/`source-offset` while the
source topic keeps it) and a reason that names what went wrong, not the values involved.
"""

from __future__ import annotations

import re

import orjson
from aiokafka import ConsumerRecord
from prometheus_client import Counter
from pydantic import ValidationError

from shared.contract.topics import DEAD_LETTERS
from shared.kafka.codec import Headers
from shared.kafka.producer import OutgoingRecord

DEAD_LETTERED = Counter("dripline_dead_lettered", "Records sent to the dead-letter topic", ["service", "topic"])

# Dripline's own ids: never personal data. (`external_id` is the shop's, and may be an address.)
ID_FIELDS = ("event_id", "workspace_id", "contact_id", "message_id", "flow_id", "step_id", "template_id")
_EMAIL = re.compile(r"[^\s'\"<>()\[\]{},;:]+@[^\s'\"<>()\[\]{},;:]+")
_INPUT = re.compile(r"input_value=.*?(?=, input_type=|\]$|$)", re.MULTILINE)


def redacted_value(value: bytes | None) -> bytes | None:
    """The record's ids as a JSON object; every other field is left out (a tombstone stays one)."""
    if value is None:
        return None
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return b"{}"
    if not isinstance(parsed, dict):
        return b"{}"
    kept = {
        name: parsed[name]
        for name in ID_FIELDS
        if isinstance(parsed.get(name), str | int) and len(str(parsed[name])) <= 200
    }
    return orjson.dumps(kept)


def reason_of(error: BaseException) -> str:
    """What went wrong, without the values: validation errors by field, addresses blanked."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or '$'}: {e['msg']}" for e in error.errors()[:5]
        )
        return f"{type(error).__name__}: {problems}"
    return scrubbed(f"{type(error).__name__}: {error}")


def scrubbed(text: str) -> str:
    """Blank input values a library quoted and anything that looks like an address."""
    return _EMAIL.sub("<address>", _INPUT.sub("input_value=…", text))[:1000]


def dead_letter(record: ConsumerRecord[bytes, bytes], reason: str, group: str) -> OutgoingRecord:
    headers: Headers = [
        *[(name, value) for name, value in record.headers if not name.startswith("source-") and name != "reason"],
        ("source-topic", record.topic.encode()),
        ("source-partition", str(record.partition).encode()),
        ("source-offset", str(record.offset).encode()),
        ("source-group", group.encode()),
        ("reason", scrubbed(reason).encode()),
    ]
    key = record.key.decode(errors="replace") if record.key is not None else ""
    return OutgoingRecord(DEAD_LETTERS, key, redacted_value(record.value), headers)
