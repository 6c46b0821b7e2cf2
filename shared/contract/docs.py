"""Generates docs/ from the contract: a JSON Schema per topic and an AsyncAPI 3 document.

A test compares these with the committed files, so the docs analysts read never drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from shared.contract.topics import EVERY_TOPIC, Topic

DOCS = Path(__file__).resolve().parents[2] / "docs"


def topic_schema(topic: Topic) -> dict[str, Any]:
    schema = topic.adapter().json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://dripline.dev/schemas/{topic.name}.json"
    schema.setdefault("title", topic.name)
    schema["description"] = topic.description
    return schema


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in EVERY_TOPIC:
        key = topic.name.replace(".", "_").replace("-", "_")
        messages[key] = {
            "name": topic.name,
            "contentType": "application/json",
            "summary": topic.description,
            "payload": {"$ref": f"schemas/{topic.name}.json"},
            "bindings": {"kafka": {"key": {"type": "string", "description": f"the record's {topic.key}"}}},
        }
        channels[key] = {
            "address": topic.name,
            "description": f"{topic.description} Produced by {topic.producer}.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {
                "kafka": {
                    "topic": topic.name,
                    "topicConfiguration": {
                        "cleanup.policy": ["compact"] if topic.compacted else ["delete"],
                        **({} if topic.compacted else {"retention.ms": topic.retention_ms}),
                    },
                }
            },
        }
        operations[f"consume_{key}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"Consumed by {', '.join(topic.consumers) or 'analysts'}.",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Dripline event contract",
            "version": "1.0.0",
            "description": (
                "Every record is JSON, keyed by contact id (one contact's records stay in order on one "
                "partition; contacts.changes by workspace_id/contact_id, since contact ids are unique only within "
                "a workspace), and carries event_id, workspace_id, occurred_at, received_at and schema_version. "
                "Delivery is at least once: drop records whose (workspace_id, event_id) you have seen. "
                "Topic names get the deployment's prefix (DRIPLINE_TOPIC_PREFIX, empty by default)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make run"},
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render_docs() -> dict[Path, str]:
    files = {
        DOCS / "schemas" / f"{topic.name}.json": json.dumps(topic_schema(topic), indent=2, sort_keys=True) + "\n"
        for topic in EVERY_TOPIC
    }
    files[DOCS / "asyncapi.yaml"] = yaml.safe_dump(asyncapi(), sort_keys=False, width=100)
    return files


def write_docs() -> list[tuple[Path, bool]]:
    results = []
    for path, text in render_docs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        changed = not path.exists() or path.read_text() != text
        if changed:
            path.write_text(text)
        results.append((path.relative_to(DOCS.parent), changed))
    return results
