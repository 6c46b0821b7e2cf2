"""How an enrollment's state is kept in its row: the row's columns, plus a JSON document of the rest.

Every step rewrites the row, so its size is PostgreSQL's work: the document leaves out what the
columns already hold (ids, flow version, number, entry time) and the fields still at their defaults,
about half the bytes of the whole state. Reading merges columns and document, so rows written whole
(by earlier releases) read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from services.scheduler.domain import EnrollmentState

# The state's fields that are columns of the row; a query reading states selects them under these names.
IN_COLUMNS = ("enrollment_id", "workspace_id", "contact_id", "flow_id", "flow_version", "number", "entered_at")
STATE_COLUMNS = "id AS enrollment_id, workspace_id, contact_id, flow_id, flow_version, number, entered_at, state"
_NOT_IN_DOCUMENT = set(IN_COLUMNS)


def document(state: EnrollmentState) -> str:
    """The JSON stored in the `state` column: a field left out is at its default (see test_stored_state)."""
    return state.model_dump_json(exclude=_NOT_IN_DOCUMENT, exclude_defaults=True)


def state_of(row: Mapping[str, Any]) -> EnrollmentState:
    """The state a row holds: its document, with the columns (selected as `STATE_COLUMNS`) filled in."""
    fields = orjson.loads(row["state"])
    for name in IN_COLUMNS:
        fields[name] = row[name]
    return EnrollmentState.model_validate(fields)
