"""The console over HTTP on the real stack: signing in, sessions and CSRF, roles, the pages' numbers,
people found by email, and pause and resume written to the audit log (table and topic)."""

from __future__ import annotations

import html
import re

import asyncpg
import pytest

from shared.contract.topics import AUDIT
from tests.integration.sender.conftest import eventually
from tests.support.routes import CONSOLE
from tests.support.stack import RealStack
from tests.support.topics import read_topic

from .conftest import FLOW_ID, PEOPLE, ConsoleShop, Visitor, add_user

pytestmark = pytest.mark.stack


async def test_sign_in_refuses_a_wrong_password_an_unknown_user_and_a_form_without_its_token(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    email, password = console_shop.passwords["viewer"]
    wrong = await visitor.sign_in(email, password + "x")
    unknown = await visitor.sign_in("nobody@team.example", password)
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match an active console user" in wrong.text and "do not match" in unknown.text
    stale = await visitor.post("/console/login", {"email": email, "password": password, "csrf": "forged"})
    assert stale.status_code == 403 and "dripline_console=" not in " ".join(visitor.set_cookies)


async def test_ten_failed_sign_ins_stop_that_email_for_a_while_even_with_the_right_password(
    console_shop: ConsoleShop, visitor: Visitor, stack: RealStack
) -> None:
    email, password = await add_user(stack, console_shop.workspace_id, "viewer")
    for _ in range(10):
        assert (await visitor.sign_in(email, "not-the-password")).status_code == 401
    throttled = await visitor.sign_in(email, password)
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 800
    assert "too many failed sign-ins" in throttled.text
    other = await visitor.sign_in(*console_shop.passwords["viewer"])
    assert other.status_code == 303


async def test_the_session_cookie_is_httponly_lax_and_secure_and_signing_out_ends_the_session(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    answer = await visitor.sign_in(*console_shop.passwords["viewer"])
    assert answer.status_code == 303 and answer.headers["location"] == "/console/flows"
    [cookie] = [c for c in visitor.set_cookies if c.startswith("dripline_console=")]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "secure", "path=/console"} <= flags  # Secure: not the local stack
    token = visitor.cookies["dripline_console"]
    assert (await visitor.get("/console/flows")).status_code == 200
    await visitor.post("/console/logout", {"csrf": await visitor.csrf()})
    visitor.cookies["dripline_console"] = token  # a copied cookie is worth nothing after signing out
    again = await visitor.get("/console/flows")
    assert again.status_code == 303 and again.headers["location"].startswith("/console/login")


async def test_every_console_page_but_the_sign_in_needs_a_session(console_shop: ConsoleShop, visitor: Visitor) -> None:
    for (method, path), role in CONSOLE.items():
        concrete = path.format(flow_id=FLOW_ID, version=1, action="pause", contact_id="c1", right="erase", user_id="u1",
                              broadcast_id="b1", template_id="t1", segment_id="s1", message_id="m1")  # fmt: skip
        answer = await (visitor.get(concrete) if method == "GET" else visitor.post(concrete, {"csrf": "x"}))
        if role is None:
            assert answer.status_code in (200, 303, 401, 403, 422), (method, path, answer.status_code)
        else:
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/console/login?next="), (method, path)


async def test_a_viewer_reads_but_cannot_pause_and_a_post_without_the_csrf_token_changes_nothing(
    console_shop: ConsoleShop, visitor: Visitor, stack: RealStack
) -> None:
    await visitor.sign_in(*console_shop.passwords["viewer"])
    page = await visitor.get(f"/console/flows/{FLOW_ID}")
    assert page.status_code == 200 and "Pause…" not in page.text
    assert (await visitor.get(f"/console/flows/{FLOW_ID}/pause")).status_code == 403
    refused = await visitor.post(f"/console/flows/{FLOW_ID}/pause", {"csrf": await visitor.csrf()})
    assert refused.status_code == 403 and "your role (viewer) may not pause flows" in refused.text

    editor = Visitor(console_shop.url)
    try:
        await editor.sign_in(*console_shop.passwords["editor"])
        forged = await editor.post(f"/console/flows/{FLOW_ID}/pause", {"csrf": "from-another-site"})
        assert forged.status_code == 403 and "CSRF" in forged.text
    finally:
        await editor.close()
    flows = (await console_shop.system.scheduler.get(f"/v1/flows/{FLOW_ID}")).json()
    assert flows["paused"] is False


async def test_the_flows_list_and_the_flow_map_show_the_reports_numbers(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    await visitor.sign_in(*console_shop.passwords["viewer"])
    report = await console_shop.report()
    listing = (await visitor.get("/console/flows")).text
    assert f'data-metric="entered">{report["summary"]["counts"]["entered"]}<' in listing
    assert f'data-metric="active">{PEOPLE}<' in listing  # all of them wait for an open
    page = (await visitor.get(f"/console/flows/{FLOW_ID}")).text
    for step in report["steps"]:
        for metric in ("reached", "delivered", "opened", "clicked"):
            if metric == "reached" or step["step_id"] in ("hello", "nudge"):
                value = step["counts"][metric]
                assert f'data-metric="{metric}" data-step="{step["step_id"]}">{value}<' in page, (step, metric)
    assert f'data-metric="waiting" data-step="opened">{PEOPLE}<' in page
    assert "message_opened, up to 2d" in page and "timeout" in page


async def test_a_person_is_found_by_email_and_their_page_shows_flows_messages_and_timeline(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    await visitor.sign_in(*console_shop.passwords["viewer"])
    found = await visitor.get("/console/people", q=console_shop.emails[0].upper())
    assert found.status_code == 303
    page = await visitor.get(found.headers["location"])
    assert console_shop.emails[0] in page.text and "Ada0" in page.text
    assert f'data-enrollment="{FLOW_ID}"' in page.text
    assert 'data-kind="message"' in page.text and 'data-kind="event"' in page.text
    missing = await visitor.get("/console/people", q="nobody@example.com")
    assert missing.status_code == 200 and "Nobody in this workspace" in missing.text

    # The welcome they got, read as they read it: the subject as sent and the body rendered again for them.
    [read] = re.findall(r'href="(/console/people/[^"]+/messages/[^"]+)" data-read', page.text)
    message = await visitor.get(read)
    assert message.status_code == 200
    subject = html.unescape(re.search(r'data-field="subject">([^<]*)<', message.text).group(1))  # type: ignore[union-attr]
    [mail] = [m for m in console_shop.system.sender.mails_to(console_shop.emails[0]) if m.subject == subject]
    greeting = next(line for line in (mail.part("plain") or "").splitlines() if "Ada0" in line)
    assert greeting in html.unescape(message.text)
    frame = await visitor.get(f"{read}/frame.html")
    assert frame.status_code == 200 and "Ada0" in frame.text
    assert "sandbox" in frame.headers["Content-Security-Policy"]
    contact_path = read.split("/messages/")[0]
    assert (await visitor.get(f"{contact_path}/messages/not-a-message")).status_code == 404
    other = found.headers["location"].replace(contact_path.rsplit("/", 1)[1], "someone-else")
    assert (await visitor.get(f"{other}/messages/{read.rsplit('/', 1)[1]}")).status_code == 404


async def test_pause_and_resume_in_the_console_and_the_api_are_in_the_audit_log_and_on_its_topic(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    await visitor.sign_in(*console_shop.passwords["editor"])
    csrf = await visitor.csrf(f"/console/flows/{FLOW_ID}/pause")
    paused = await visitor.post(f"/console/flows/{FLOW_ID}/pause", {"csrf": csrf})
    assert paused.status_code == 303
    assert (await console_shop.system.scheduler.get(f"/v1/flows/{FLOW_ID}")).json()["paused"] is True
    await visitor.post(f"/console/flows/{FLOW_ID}/resume", {"csrf": csrf})
    api = console_shop.system.scheduler
    assert (await api.post(f"/v1/flows/{FLOW_ID}/pause")).status_code == 200
    assert (await api.post(f"/v1/flows/{FLOW_ID}/resume")).status_code == 200

    audit = (await visitor.get("/console/audit")).text
    editor = console_shop.passwords["editor"][0]
    for action in ("flow.paused", "flow.resumed"):
        assert audit.count(f'data-audit="{action}" data-target="{FLOW_ID}"') == 2
    assert (
        'data-actor="user:' in audit and editor in audit and "key:" in audit and 'data-audit="flow.published"' in audit
    )
    records = await read_topic(
        console_shop.system.stack, AUDIT, count=5, where=lambda r: r["workspace_id"] == console_shop.workspace_id
    )
    seen = [(r["action"], r["via"]) for r in records]
    assert all(editor not in r["actor"] for r in records)  # console users by id, never by email
    assert ("flow.published", "api") in seen and ("flow.paused", "console") in seen and ("flow.paused", "api") in seen
    assert all(r["__key__"] == console_shop.workspace_id for r in records)


async def test_the_audit_log_refuses_updates_and_deletes(console_shop: ConsoleShop, stack: RealStack) -> None:
    async def entries() -> int:
        return int(await connection.fetchval("SELECT count(*) FROM audit_log WHERE workspace_id = $1",
                                             console_shop.workspace_id))  # fmt: skip

    connection = await asyncpg.connect(stack.database_url)
    try:
        before = await eventually(entries, what="an audit entry")
        for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await connection.execute(statement)
        assert await entries() == before
    finally:
        await connection.close()
