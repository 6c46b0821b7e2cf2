"""A person's export and erasure from the console and through the API, on the real stack: only admins may,
behind a confirmation; each is done by the same code as the API's, lands on the bus (the tombstone and the
notice) and is written to the audit log under the user's or the key's id, shown with the user's email."""

from __future__ import annotations

from urllib.parse import unquote

import asyncpg
import orjson
import pytest

from shared.contract.topics import AUDIT, CONTACTS, ERASED
from tests.integration.scheduler.conftest import new_workspace
from tests.support.stack import RealStack
from tests.support.topics import read_topic

from .conftest import ConsoleShop, Visitor

pytestmark = pytest.mark.stack


async def _contact_id(visitor: Visitor, email: str) -> str:
    found = await visitor.get("/console/people", q=email)
    assert found.status_code == 303, found.text[:300]
    return unquote(found.headers["location"].rsplit("/", 1)[1])


async def _user_id(shop: ConsoleShop, email: str) -> str:
    pool: asyncpg.Pool = shop.system.scheduler_app.state.resources.pool
    return str(await pool.fetchval("SELECT id FROM console_users WHERE email = $1", email))


async def test_viewers_and_editors_see_no_export_or_erase_and_are_refused_when_posting_anyway(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop = console_shop
    for role in ("viewer", "editor"):
        member = Visitor(shop.url)
        try:
            await member.sign_in(*shop.passwords[role])
            contact_id = await _contact_id(member, shop.emails[0])
            page = await member.get(f"/console/people/{contact_id}")
            assert page.status_code == 200 and "Erase…" not in page.text and "Export…" not in page.text
            assert (await member.get(f"/console/people/{contact_id}/erase")).status_code == 403
            csrf = await member.csrf()
            for right in ("erase", "export"):
                refused = await member.post(f"/console/people/{contact_id}/{right}", {"csrf": csrf})
                assert refused.status_code == 403, (role, right)
                assert f"your role ({role}) may not {right} contacts" in refused.text
        finally:
            await member.close()
    assert (await shop.system.ingest.get(f"/v1/contacts/{contact_id}")).status_code == 200


async def test_an_admin_exports_a_person_as_a_download_and_the_audit_log_names_them_by_id(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop = console_shop
    admin_email = shop.passwords["admin"][0]
    await visitor.sign_in(*shop.passwords["admin"])
    contact_id = await _contact_id(visitor, shop.emails[1])
    page = await visitor.get(f"/console/people/{contact_id}")
    assert "Export…" in page.text and "Erase…" in page.text
    confirm = await visitor.get(f"/console/people/{contact_id}/export")
    assert confirm.status_code == 200 and "Yes, export their data" in confirm.text
    forged = await visitor.post(f"/console/people/{contact_id}/export", {"csrf": "from-another-site"})
    assert forged.status_code == 403
    download = await visitor.post(f"/console/people/{contact_id}/export", {"csrf": await visitor.csrf()})
    assert download.status_code == 200 and download.headers["content-type"] == "application/json"
    assert download.headers["content-disposition"].startswith('attachment; filename="contact-')
    document = orjson.loads(download.content)
    api = (await shop.system.ingest.get(f"/v1/contacts/{contact_id}/export")).json()
    assert document["contact_id"] == contact_id and document["data"].keys() == api["data"].keys()
    assert document["data"]["contacts"][0]["profile"]["email"] == shop.emails[1]

    admin_id = await _user_id(shop, admin_email)
    records = await read_topic(
        shop.system.stack,
        AUDIT,
        count=2,
        where=lambda r: r["action"] == "contact.exported" and r["target"] == contact_id,
    )
    assert sorted((r["actor"], r["via"]) for r in records)[-1] == (f"user:{admin_id}", "console")
    assert any(r["actor"].startswith("key:") and r["via"] == "api" for r in records)
    assert all(admin_email not in orjson.dumps(r).decode() for r in records)
    audit = (await visitor.get("/console/audit")).text
    assert f'data-actor="user:{admin_id}"' in audit and admin_email in audit


async def test_an_admin_erases_a_person_and_the_bus_and_the_audit_log_say_so(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop = console_shop
    await visitor.sign_in(*shop.passwords["admin"])
    contact_id = await _contact_id(visitor, shop.emails[2])
    confirm = await visitor.get(f"/console/people/{contact_id}/erase")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    erased = await visitor.post(f"/console/people/{contact_id}/erase", {"csrf": await visitor.csrf()})
    assert erased.status_code == 303 and erased.headers["location"] == f"/console/people?erased={contact_id}"
    assert f'data-erased="{contact_id}"' in (await visitor.get("/console/people", erased=contact_id)).text

    assert (await shop.system.ingest.get(f"/v1/contacts/{contact_id}")).status_code == 404
    assert (await visitor.get("/console/people", q=shop.emails[2])).status_code == 200  # no longer found
    assert (await visitor.get(f"/console/people/{contact_id}")).status_code == 404

    [tombstone] = await read_topic(
        shop.system.stack,
        CONTACTS,
        count=1,
        where=lambda r: r.get("__tombstone__") is True and contact_id in r["__key__"],
    )
    assert tombstone["__headers__"] == {"op": "erase", "workspace-id": shop.workspace_id, "contact-id": contact_id}
    [notice] = await read_topic(shop.system.stack, ERASED, count=1, where=lambda r: r["contact_id"] == contact_id)
    assert notice["workspace_id"] == shop.workspace_id
    admin_id = await _user_id(shop, shop.passwords["admin"][0])
    [entry] = await read_topic(
        shop.system.stack, AUDIT, count=1, where=lambda r: r["action"] == "contact.erased" and r["target"] == contact_id
    )
    assert entry["actor"] == f"user:{admin_id}" and entry["via"] == "console" and int(entry["detail"]["rows"]) > 0
    audit = (await visitor.get("/console/audit")).text
    assert f'data-audit="contact.erased" data-target="{contact_id}"' in audit


async def test_the_apis_erasure_is_in_the_audit_log_under_the_keys_id(console_shop: ConsoleShop) -> None:
    shop = console_shop
    ingest = shop.system.ingest
    identified = await ingest.post("/v1/contacts", json={"email": "erase.me@example.com"})
    contact_id = identified.json()["contact_id"]
    assert (await ingest.delete(f"/v1/contacts/{contact_id}")).status_code == 200
    records = await read_topic(
        shop.system.stack, AUDIT, count=1, where=lambda r: r["action"] == "contact.erased" and r["target"] == contact_id
    )
    assert records[0]["via"] == "api" and records[0]["actor"].startswith("key:")
    key_id = records[0]["actor"].removeprefix("key:")
    pool: asyncpg.Pool = shop.system.scheduler_app.state.resources.pool
    assert await pool.fetchval("SELECT workspace_id FROM api_keys WHERE id::text = $1", key_id) == shop.workspace_id


async def test_another_workspaces_contact_is_not_found_for_export_or_erasure(
    console_shop: ConsoleShop, visitor: Visitor, stack: RealStack
) -> None:
    _, other_key = await new_workspace(stack)
    ingest = console_shop.system.ingest
    created = await ingest.post(
        "/v1/contacts", json={"email": "elsewhere@example.com"}, headers={"X-Api-Key": other_key}
    )
    contact_id = created.json()["contact_id"]
    await visitor.sign_in(*console_shop.passwords["admin"])
    csrf = await visitor.csrf()
    assert (await visitor.get(f"/console/people/{contact_id}")).status_code == 404
    assert (await visitor.get(f"/console/people/{contact_id}/erase")).status_code == 404
    for right in ("erase", "export"):
        assert (await visitor.post(f"/console/people/{contact_id}/{right}", {"csrf": csrf})).status_code == 404
    kept = await ingest.get(f"/v1/contacts/{contact_id}", headers={"X-Api-Key": other_key})
    assert kept.status_code == 200 and kept.json()["profile"]["email"] == "elsewhere@example.com"
