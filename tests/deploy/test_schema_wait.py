"""The init container's rule for "the schema is ready", on the real migration scripts."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from deploy.docker.wait_for_schema import pending, scripts
from shared.settings import CommonSettings


@pytest.fixture(scope="module")
def script() -> ScriptDirectory:
    return scripts(CommonSettings(database_url="postgresql://dripline@db.invalid/dripline"))


def test_an_empty_database_waits_for_every_head(script: ScriptDirectory) -> None:
    assert pending(script, set()) == set(script.get_heads())


def test_a_migrated_database_is_ready(script: ScriptDirectory) -> None:
    assert pending(script, set(script.get_heads())) == set()


def test_a_branch_not_yet_migrated_is_waited_for(script: ScriptDirectory) -> None:
    heads = sorted(script.get_heads())
    assert len(heads) > 1, "the schema has one branch per product area"
    assert pending(script, set(heads[1:])) == {heads[0]}


def test_a_newer_release_schema_lets_an_older_pod_start(script: ScriptDirectory) -> None:
    assert pending(script, {"9999_from_a_newer_release"}) == set()
