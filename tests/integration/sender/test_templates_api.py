"""The template API: versions, preview for a stored or inline contact, and test sends."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from shared.workspaces import create_key, ensure_workspace
from tests.integration.sender.conftest import EXAMPLES, Sender
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack

SOURCE = """id: {id}
category: marketing
subject: "Hello {{{{ contact.first_name | default: 'friend' }}}}"
preheader: "{preheader}"
html: |
  <html><body><p>Hi {{{{ contact.first_name }}}}, see <a href="https://shop.example/new">news</a>.</p></body></html>
"""


def source(template_id: str, preheader: str = "News") -> str:
    return SOURCE.format(id=template_id, preheader=preheader)


async def test_publishing_changed_source_adds_a_version_and_the_same_source_does_not(sender: Sender) -> None:
    template_id = f"news-{uuid.uuid4().hex[:8]}"
    async with sender.client() as api:
        first = await api.post("/v1/templates", json={"source": source(template_id)})
        again = await api.post("/v1/templates", json={"source": source(template_id)})
        changed = await api.post("/v1/templates", json={"source": source(template_id, "Fresh news")})
        latest = await api.get(f"/v1/templates/{template_id}")
        listed = await api.get("/v1/templates")

    assert (first.status_code, first.json()["version"], first.json()["changed"]) == (201, 1, True)
    assert (again.status_code, again.json()["version"], again.json()["changed"]) == (200, 1, False)
    assert (changed.status_code, changed.json()["version"]) == (201, 2)
    assert latest.json()["version"] == 2 and "Fresh news" in latest.json()["source"]
    assert {"id": template_id, "version": 2} in [{"id": t["id"], "version": t["version"]} for t in listed.json()]


async def test_an_invalid_template_is_refused_with_its_problems(sender: Sender) -> None:
    bad = source("broken").replace("{{ contact.first_name }}", "{{ contact.first_name | nope }}")
    async with sender.client() as api:
        response = await api.post("/v1/templates", json={"source": bad})
    assert response.status_code == 422
    assert any("unknown filter" in problem for problem in response.json()["detail"]["problems"])


async def test_preview_renders_for_a_stored_contact_or_inline_data(sender: Sender) -> None:
    template_id = f"news-{uuid.uuid4().hex[:8]}"
    contact = await sender.contact(email="stored@example.com", first_name="Siri")
    async with sender.client() as api:
        await api.post("/v1/templates", json={"source": source(template_id)})
        stored = await api.post(f"/v1/templates/{template_id}/preview", json={"contact_id": contact})
        inline = await api.post(f"/v1/templates/{template_id}/preview", json={"contact": {"first_name": "Per"}})
        missing = await api.post("/v1/templates/nope/preview", json={})

    assert stored.json()["subject"] == "Hello Siri"
    assert inline.json()["subject"] == "Hello Per"
    assert "List-Unsubscribe" in inline.json()["headers"]
    assert "https://t.shop.example/c/" in inline.json()["html"]
    assert "Storgata 1" in inline.json()["text"]
    assert missing.status_code == 404


async def test_a_test_send_reaches_a_test_recipient(sender: Sender) -> None:
    address = f"Tester.{uuid.uuid4().hex[:8]}@example.com"
    async with sender.client() as api:
        await api.post("/v1/templates", json={"source": (EXAMPLES / "welcome-hello.yaml").read_text()})
        listed = await api.put("/v1/test-recipients", json={"addresses": [address]})
        assert listed.json() == {"addresses": [address.lower()]}
        response = await api.post(
            "/v1/templates/welcome-hello/test-send", json={"to": address, "contact": {"first_name": "Test"}}
        )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "sent"
    [mail] = sender.mails_to(address.lower())
    assert mail.subject == "Welcome, Test"


async def test_a_test_send_to_anyone_else_or_to_a_suppressed_recipient_sends_nothing(sender: Sender) -> None:
    listed, stranger = (f"{who}.{uuid.uuid4().hex[:8]}@example.com" for who in ("left", "stranger"))
    async with sender.client() as api:
        await api.post("/v1/templates", json={"source": (EXAMPLES / "welcome-hello.yaml").read_text()})
        await api.put("/v1/test-recipients", json={"addresses": [listed]})
        await sender.unsubscribe(listed)  # a marketing template: an unsubscribe is enough
        refused = await api.post("/v1/templates/welcome-hello/test-send", json={"to": stranger})
        suppressed = await api.post("/v1/templates/welcome-hello/test-send", json={"to": listed})
    assert refused.status_code == 403 and stranger in refused.json()["detail"]
    assert suppressed.status_code == 200 and suppressed.json()["status"] == "suppressed"
    assert sender.mails_to(listed) == [] and sender.mails_to(stranger) == []


async def test_test_sends_are_rate_limited_per_workspace(sender: Sender, stack: RealStack) -> None:
    workspace_id, key = await _workspace(stack, scopes=["admin"])
    address = f"burst.{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=sender.url, headers={"X-Api-Key": key}, timeout=10) as api:
        await api.post("/v1/templates", json={"source": (EXAMPLES / "welcome-hello.yaml").read_text()})
        await api.put("/v1/test-recipients", json={"addresses": [address]})
        answers = [await api.post("/v1/templates/welcome-hello/test-send", json={"to": address}) for _ in range(6)]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    assert int(answers[5].headers["retry-after"]) >= 1
    assert len(sender.mails_to(address)) == 5


async def test_only_an_admin_key_sets_test_recipients_and_previews_of_stored_contacts_need_contacts_read(
    sender: Sender, stack: RealStack
) -> None:
    workspace_id, key = await _workspace(stack, scopes=["templates:read", "templates:write"])
    async with httpx.AsyncClient(base_url=sender.url, headers={"X-Api-Key": key}, timeout=10) as api:
        await api.post("/v1/templates", json={"source": (EXAMPLES / "welcome-hello.yaml").read_text()})
        refused = await api.put("/v1/test-recipients", json={"addresses": ["me@example.com"]})
        inline = await api.post("/v1/templates/welcome-hello/preview", json={"contact": {"first_name": "Ann"}})
        stored = await api.post("/v1/templates/welcome-hello/preview", json={"contact_id": "c-1"})
    assert refused.status_code == 403 and refused.json()["detail"] == "this API key lacks the scope admin"
    assert inline.status_code == 200 and inline.json()["subject"] == "Welcome, Ann"
    assert stored.status_code == 403 and stored.json()["detail"] == "this API key lacks the scope contacts:read"


async def _workspace(stack: RealStack, scopes: list[str]) -> tuple[str, str]:
    workspace_id = f"templates-{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(stack.database_url)
    try:
        await ensure_workspace(connection, workspace_id, "Template tests")
        return workspace_id, await create_key(connection, workspace_id, "tests", scopes=scopes)
    finally:
        await connection.close()


async def test_the_template_api_needs_a_workspace_key(sender: Sender) -> None:
    async with httpx.AsyncClient(base_url=sender.url) as anonymous:
        assert (await anonymous.get("/v1/templates")).status_code == 401
