"""Importing a list: consent only where the file says so, a reason for every bad row, erased addresses stay out."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.stack import ROOT, RealStack

pytestmark = pytest.mark.stack


def run_import(stack: RealStack, csv_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": stack.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
        "DRIPLINE_TOPIC_PREFIX": stack.topic_prefix,
        "COLUMNS": "160",
    }
    command = [sys.executable, "-m", "dripline.cli", "contacts", "import", str(csv_path), "--workspace", "shop-one"]
    return subprocess.run([*command, *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


async def test_import_records_consent_per_row_and_reports_bad_rows(
    stack: RealStack, shop: httpx.AsyncClient, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    erased = f"gone-{run}@example.com"
    identified = await shop.post("/v1/contacts", json={"email": erased})
    await shop.delete(f"/v1/contacts/{identified.json()['contact_id']}")

    csv_path = tmp_path / "list.csv"
    csv_path.write_text(
        "email,first_name,consent,favourite_shoe\n"
        f"yes-{run}@example.com,Ingrid,yes,trail\n"
        f"no-{run}@example.com,Nils,no,\n"
        "not-an-address,Broken,yes,\n"
        f"{erased},Gone,yes,\n"
    )
    result = run_import(stack, csv_path, "--topics", "newsletter", "--policy-version", "2025-01")
    assert result.returncode == 1, result.stderr  # some rows were rejected
    assert "Imported 2 contacts (1 with marketing consent); 2 rows rejected." in result.stdout
    assert "4" in result.stdout and "email" in result.stdout  # line 4: the bad address
    assert "suppressed" in result.stdout

    connection = await asyncpg.connect(stack.database_url)
    try:
        rows = await connection.fetch(
            "SELECT c.profile->>'email' AS email, s.topic, s.status FROM contacts c "
            "JOIN contact_subscriptions s USING (workspace_id, contact_id) WHERE c.profile->>'email' LIKE $1 "
            "ORDER BY 1, 2",
            f"%-{run}@example.com",
        )
        ledger = await connection.fetch(
            "SELECT DISTINCT source, policy_version FROM consent_ledger l "
            "JOIN contacts c USING (workspace_id, contact_id) "
            "WHERE c.profile->>'email' = $1",
            f"yes-{run}@example.com",
        )
        attributes = await connection.fetchval(
            "SELECT profile->'attributes' FROM contacts WHERE profile->>'email' = $1", f"yes-{run}@example.com"
        )
    finally:
        await connection.close()
    assert [tuple(row) for row in rows] == [
        (f"yes-{run}@example.com", "*", "subscribed"),
        (f"yes-{run}@example.com", "newsletter", "subscribed"),
    ]
    assert [tuple(row) for row in ledger] == [("import", "2025-01")]
    assert attributes == '{"favourite_shoe": "trail"}'
