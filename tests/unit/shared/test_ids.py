"""Name-based ids equal the standard library's uuid5 for every name: replays must find the same ids."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from shared.ids import new_id, uuid5_text

NAMESPACE = uuid.UUID("0b7f6a52-3f0e-5c71-9d0c-5ad3c51f2e44")


@given(st.text())
def test_uuid5_text_is_uuid5(name: str) -> None:
    assert uuid5_text(NAMESPACE, name) == str(uuid.uuid5(NAMESPACE, name))


def test_known_value() -> None:
    assert uuid5_text(uuid.NAMESPACE_DNS, "python.org") == "886313e1-3b8a-5372-9b90-0c9aee199e5d"


def test_new_ids_do_not_repeat() -> None:
    ids = {new_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert {len(i) for i in ids} == {32}
