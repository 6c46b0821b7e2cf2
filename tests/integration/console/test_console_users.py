"""Console users managed in the console by the workspace's admins, on the real stack: a new user signs in
with the password shown once, a role change shows on their next page, disabling ends their session and
their sign-in; every change is in the audit log by user id; no one else may, and no admin locks themself out."""

from __future__ import annotations

import re
import secrets
from html import unescape

import pytest

from shared.contract.topics import AUDIT
from tests.support.topics import read_topic

from .conftest import ConsoleShop, Visitor

pytestmark = pytest.mark.stack


async def test_only_admins_see_and_use_the_users_page(console_shop: ConsoleShop) -> None:
    for role in ("viewer", "editor"):
        member = Visitor(console_shop.url)
        try:
            await member.sign_in(*console_shop.passwords[role])
            flows = await member.get("/console/flows")
            assert 'href="/console/users"' not in flows.text
            assert (await member.get("/console/users")).status_code == 403
            refused = await member.post("/console/users", {"csrf": await member.csrf(), "email": "x@team.example"})
            assert refused.status_code == 403 and f"your role ({role}) may not manage console users" in refused.text
        finally:
            await member.close()


async def test_an_admin_adds_a_user_changes_their_role_and_disables_them(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    shop = console_shop
    await visitor.sign_in(*shop.passwords["admin"])
    csrf = await visitor.csrf("/console/users")
    wrong = await visitor.post("/console/users", {"csrf": csrf, "email": "not-an-address", "role": "editor"})
    assert wrong.status_code == 422 and 'data-error="email"' in wrong.text
    short = await visitor.post("/console/users", {"csrf": csrf, "email": "a@team.example", "password": "short"})
    assert short.status_code == 422 and 'data-error="password"' in short.text

    email = f"new.{secrets.token_hex(3)}@team.example"
    added = await visitor.post("/console/users", {"csrf": csrf, "email": email, "role": "editor", "password": ""})
    assert added.status_code == 200
    match = re.search(r"shown once: <code>([^<]+)</code>", added.text)
    assert match, added.text[:500]
    password = unescape(match.group(1))
    user_id = re.search(
        rf'<tr data-user="{re.escape(email)}">\s*<td>{re.escape(email)} <span class="muted">(\w+)', added.text
    )
    assert user_id, added.text
    newcomer = Visitor(shop.url)
    try:
        assert (await newcomer.sign_in(email, password)).status_code == 303
        assert f"{email} (editor)" in (await newcomer.get("/console/flows")).text

        assert (
            await visitor.post(f"/console/users/{user_id.group(1)}/role", {"csrf": csrf, "role": "viewer"})
        ).status_code == 303
        assert f"{email} (viewer)" in (await newcomer.get("/console/flows")).text

        assert (await visitor.post(f"/console/users/{user_id.group(1)}/disable", {"csrf": csrf})).status_code == 303
        ended = await newcomer.get("/console/flows")
        assert ended.status_code == 303 and ended.headers["location"].startswith("/console/login")
        assert (await newcomer.sign_in(email, password)).status_code == 401
    finally:
        await newcomer.close()

    records = await read_topic(shop.system.stack, AUDIT, count=3, where=lambda r: r["target"] == user_id.group(1))
    assert [(r["action"], r["via"]) for r in records] == [
        ("user.created", "console"), ("user.role_set", "console"), ("user.disabled", "console")
    ]  # fmt: skip
    assert records[-1]["detail"] == {"scope": "account"}  # their only workspace: the account is disabled
    assert all(r["actor"].startswith("user:") and email not in str(r) for r in records)
    audit = (await visitor.get("/console/audit")).text
    assert f'data-audit="user.disabled" data-target="{user_id.group(1)}"' in audit and email in audit


async def test_an_admin_cannot_lock_themself_out_nor_touch_another_workspaces_user(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    await visitor.sign_in(*console_shop.passwords["admin"])
    csrf = await visitor.csrf("/console/users")
    page = (await visitor.get("/console/users")).text
    admin = console_shop.passwords["admin"][0]
    own = re.search(rf'<td>{re.escape(admin)} <span class="muted">(\w+)', page)
    assert own
    refused = await visitor.post(f"/console/users/{own.group(1)}/role", {"csrf": csrf, "role": "viewer"})
    assert refused.status_code == 422 and "your own role" in refused.text
    assert (await visitor.post("/console/users/nobody-here/disable", {"csrf": csrf})).status_code == 404
