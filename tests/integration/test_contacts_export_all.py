"""`dripline contacts export --all` writes every contact of a workspace as one JSON line each, with its
whole export, and its progress on stderr (stdout stays pure JSON lines for a pipe)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.support.stack import ROOT, RealStack

pytestmark = pytest.mark.stack


async def test_every_contact_of_the_workspace_is_one_json_line(stack: RealStack, shop: httpx.AsyncClient) -> None:
    run = uuid.uuid4().hex[:8]
    ids = set()
    for n in range(3):
        identified = await shop.post("/v1/contacts", json={"email": f"all-{run}-{n}@example.com", "first_name": "Åse"})
        ids.add(identified.json()["contact_id"])
    env = {
        **os.environ,
        "DATABASE_URL": stack.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
        "DRIPLINE_TOPIC_PREFIX": stack.topic_prefix,
    }
    done = _export(env, "--all", "--workspace", "shop-one")

    assert done.returncode == 0, done.stderr
    documents = [json.loads(line) for line in done.stdout.splitlines()]
    assert all(document["workspace_id"] == "shop-one" for document in documents)
    ours = {d["contact_id"]: d for d in documents if d["contact_id"] in ids}
    assert set(ours) == ids
    assert all(d["data"]["contacts"][0]["profile"]["first_name"] == "Åse" for d in ours.values())
    assert len({d["contact_id"] for d in documents}) == len(documents)  # each contact once
    assert f"Exported {len(documents)} contacts of shop-one" in done.stderr
    assert _export(env, "--workspace", "shop-one").returncode != 0  # neither an id nor --all


def _export(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dripline.cli", "contacts", "export", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
