"""Name-based ids equal the standard library's uuid5 for every name: replays must find the same ids."""

from __future__ import annotations

import os
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


def test_new_ids_are_random_not_a_counter() -> None:
    """Consecutive ids share no prefix beyond chance: knowing one contact id says nothing about the next."""
    ids = [new_id() for _ in range(1_000)]
    shared = [len(os.path.commonprefix([a, b])) for a, b in zip(ids, ids[1:], strict=False)]
    assert max(shared) < 8
    assert all(int(i, 16) >= 0 for i in ids)  # 32 hex characters: 128 bits


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id()  # the parent holds a block with ids left in it
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        os.write(writer, new_id().encode())
        os._exit(0)
    os.close(writer)
    child = os.read(reader, 64).decode()
    os.waitpid(pid, 0)
    assert child != new_id()
