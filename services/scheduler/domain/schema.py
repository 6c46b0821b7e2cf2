"""The published JSON Schema for flow files, generated from the models so it cannot drift."""

from __future__ import annotations

import json
from typing import Any

from .flow import Flow

SCHEMA_ID = "https://dripline.dev/schemas/flow.schema.json"


def flow_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a flow file as authors write it (aliases, short durations)."""
    schema = Flow.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def render_flow_schema() -> str:
    """The exact text of the committed schema file."""
    return json.dumps(flow_json_schema(), indent=2, sort_keys=True) + "\n"
