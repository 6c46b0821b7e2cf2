"""Importing a list: consent only where the file says so, a reason for every bad row, erased addresses stay out.

Lists go in chunks of rows written together; a person listed twice is one contact, in one chunk or across two.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.ingest.domain.imports import CHUNK_ROWS
from shared.contract.topics import CONTACTS
from shared.identity import identifier_hash
from tests.support.stack import ROOT, RealStack
from tests.support.topics import read_topic

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
        "email,first_name,consent,channels,favourite_shoe\n"
        f'yes-{run}@example.com,Ingrid,yes,"email,sms",trail\n'
        f"no-{run}@example.com,Nils,no,,\n"
        "not-an-address,Broken,yes,,\n"
        f"{erased},Gone,yes,,\n"
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
        (f"yes-{run}@example.com", "channel:email", "subscribed"),
        (f"yes-{run}@example.com", "channel:sms", "subscribed"),
        (f"yes-{run}@example.com", "newsletter", "subscribed"),
    ]
    assert [tuple(row) for row in ledger] == [("import", "2025-01")]
    assert attributes == '{"favourite_shoe": "trail"}'


async def test_a_list_of_several_chunks_merges_repeated_people_and_subscribes_only_consenting_rows(
    stack: RealStack, shop: httpx.AsyncClient, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    people = 2 * CHUNK_ROWS + 200  # three chunks

    def address(n: int) -> str:
        return f"p{n}-{run}@example.com"

    erased, bounced = f"erased-{run}@example.com", f"bounced-{run}@example.com"
    identified = await shop.post("/v1/contacts", json={"email": erased})
    await shop.delete(f"/v1/contacts/{identified.json()['contact_id']}")
    connection = await asyncpg.connect(stack.database_url)
    try:  # what the sender records after a hard bounce
        await connection.execute(
            "INSERT INTO suppressions (workspace_id, address_hash, scope, reason, source) "
            "VALUES ('shop-one', $1, 'all', 'bounced', 'smtp')",
            identifier_hash("shop-one", "email", bounced),
        )
    finally:
        await connection.close()

    rows = [f"{address(n)},F{n},,{'yes' if n % 2 == 0 else 'no'},trail" for n in range(people)]
    rows.insert(1, f"{address(0)},,Again,no,")  # line 3: repeats line 2 in the same chunk
    rows.insert(2, f"{address(1)},,,yes,")  # line 4: consents; line 5 lists the same person without
    rows.insert(CHUNK_ROWS + 100, f"{bounced},Bounced,,yes,")
    rows.insert(2 * CHUNK_ROWS + 100, f"{erased},Erased,,yes,")
    rows += [f"{address(5)},,,yes,road", f"{address(7)},,Later,no,"]  # repeats from the first chunk
    rows += [f"{address(people - 1)},,Twice,no,"]  # and one from the same chunk, among people already known
    csv_path = tmp_path / "big.csv"
    csv_path.write_text("email,first_name,last_name,consent,favourite_shoe\n" + "\n".join(rows) + "\n")

    result = run_import(stack, csv_path, "--topics", "newsletter")
    assert result.returncode == 1, result.stderr
    written = people + 5
    consenting = {address(n) for n in range(0, people, 2)} | {address(1), address(5)}
    assert f"Imported {written} contacts ({len(consenting)} with marketing consent); 2 rows rejected." in result.stdout
    suppressed_lines = [int(re.findall(r"\d+", line)[0]) for line in result.stdout.splitlines() if "suppressed" in line]
    assert suppressed_lines == [CHUNK_ROWS + 100 + 2, 2 * CHUNK_ROWS + 100 + 2]

    connection = await asyncpg.connect(stack.database_url)
    try:
        contacts = await connection.fetch(
            "SELECT contact_id, profile FROM contacts WHERE workspace_id = 'shop-one' AND profile->>'email' LIKE $1",
            f"%-{run}@example.com",
        )
        subscribed = await connection.fetch(
            "SELECT c.profile->>'email' AS email, s.topic FROM contacts c "
            "JOIN contact_subscriptions s USING (workspace_id, contact_id) "
            "WHERE c.profile->>'email' LIKE $1 AND s.status = 'subscribed'",
            f"%-{run}@example.com",
        )
        ledger = await connection.fetch(
            "SELECT DISTINCT l.source, c.profile->>'email' AS email FROM consent_ledger l "
            "JOIN contacts c USING (workspace_id, contact_id) WHERE c.profile->>'email' LIKE $1",
            f"%-{run}@example.com",
        )
    finally:
        await connection.close()
    profiles = {row["contact_id"]: json.loads(row["profile"]) for row in contacts}
    by_address = {profile["email"]: profile for profile in profiles.values()}
    assert len(profiles) == len(by_address) == people  # every repeat merged into the person listed first
    assert by_address[address(0)]["first_name"] == "F0" and by_address[address(0)]["last_name"] == "Again"
    assert by_address[address(5)]["attributes"] == {"favourite_shoe": "road"}
    assert by_address[address(7)]["last_name"] == "Later"
    assert by_address[address(people - 1)]["last_name"] == "Twice"
    assert {(row["email"], row["topic"]) for row in subscribed} == {
        (email, topic) for email in consenting for topic in ("*", "channel:email", "newsletter")
    }
    assert {row["source"] for row in ledger} == {"import"} and {row["email"] for row in ledger} == consenting

    changed = await read_topic(stack, CONTACTS, count=written, where=lambda r: r.get("email") in by_address)
    assert len(changed) == written  # one contact-changed record per imported row, keyed by workspace and contact
    assert {record["__key__"] for record in changed} == {f"shop-one/{contact_id}" for contact_id in profiles}
