"""An erased person stays erased: a later sign-up, identify call, event or import naming any identifier they
had is answered as accepted and dropped, leaving no row, no profile record and no subscription behind."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.ingest.adapters.erased import ERASED_DROPPED
from shared.contract.topics import CONTACTS, PURCHASES, SIGNUPS
from shared.identity import identifier_hash
from tests.integration.test_contacts_import import run_import
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


def _dropped() -> float:
    return sum(ERASED_DROPPED.labels(what)._value.get() for what in ("event", "identify"))  # noqa: SLF001


async def test_an_erased_person_is_not_created_again(stack: RealStack, shop: httpx.AsyncClient, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    email, phone, external_id = f"erased-{run}@example.com", f"+4790{int(run, 16) % 10**6:06d}", f"cust-{run}"
    signup = {
        "type": "signup",
        "contact": {"email": email, "phone": phone, "external_id": external_id, "first_name": f"Ragnhild{run}"},
        "consent": {"marketing": True, "topics": ["newsletter"]},
    }
    assert (await shop.post("/v1/events", json=signup)).status_code == 202
    contact_id = (await shop.post("/v1/contacts", json={"email": email})).json()["contact_id"]
    before = await read_topic(stack, CONTACTS, count=2, where=lambda r: r.get("email") == email)
    assert (await shop.delete(f"/v1/contacts/{contact_id}")).status_code == 200
    dropped_before = _dropped()

    again = {**signup, "event_id": f"again-{run}"}
    assert (await shop.post("/v1/events", json=again)).json()["event_id"] == f"again-{run}"
    by_phone = await shop.post("/v1/contacts", json={"phone": phone, "first_name": "Someone"})
    assert (by_phone.status_code, by_phone.json()["contact_id"]) == (202, None)
    by_id = await shop.post("/v1/contacts", json={"contact_id": contact_id, "first_name": f"Back{run}"})
    assert (by_id.status_code, by_id.json()["contact_id"]) == (202, None)
    purchase = {
        "type": "purchase",
        "event_id": f"order-{run}",
        "contact": {"external_id": external_id},
        "order_id": f"A-{run}",
        "revenue": "10.00",
        "currency": "NOK",
    }
    assert (await shop.post("/v1/events", json=purchase)).status_code == 202
    csv_path = tmp_path / "list.csv"
    csv_path.write_text(f"phone,first_name,consent\n{phone},Imported,yes\n")
    imported = run_import(stack, csv_path)
    assert "Imported 0 contacts" in imported.stdout and "suppressed" in imported.stdout, imported.stdout
    assert _dropped() - dropped_before == 4

    connection = await asyncpg.connect(stack.database_url)
    try:
        hashes = [identifier_hash("shop-one", kind, value) for kind, value in _identifiers(email, phone, external_id)]
        assert (
            await connection.fetchval(
                "SELECT count(*) FROM contact_identities WHERE value_hash = ANY($1::bytea[])", hashes
            )
            == 0
        )
        query = "SELECT count(*) FROM contacts WHERE profile::text LIKE $1 OR contact_id = $2"
        assert await connection.fetchval(query, f"%{run}%", contact_id) == 0
        assert (
            await connection.fetchval(
                "SELECT count(DISTINCT contact_id) FROM consent_ledger WHERE dedupe_key LIKE $1", f"again-{run}%"
            )
            == 0
        )
        erased = await connection.fetchval(
            "SELECT count(*) FROM suppressions WHERE address_hash = ANY($1::bytea[]) AND reason = 'erased'", hashes
        )
        assert erased == 3  # the keyed hash of each identifier, nothing else
    finally:
        await connection.close()
    after = await read_topic(stack, CONTACTS, count=len(before) + 1, where=lambda r: r.get("email") == email, timeout=2)
    assert len(after) == len(before)  # no profile published again
    assert not await read_topic(stack, SIGNUPS, count=1, where=lambda r: r["event_id"] == f"again-{run}", timeout=1)
    assert not await read_topic(stack, PURCHASES, count=1, where=lambda r: r["event_id"] == f"order-{run}", timeout=1)


def _identifiers(email: str, phone: str, external_id: str) -> list[tuple[str, str]]:
    return [("email", email), ("phone", phone), ("external_id", external_id)]
