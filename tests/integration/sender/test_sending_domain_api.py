"""The sending domain through the sender's API, under the admin scope: set it (a new DKIM key, the records
to publish), read it back, refused with 422 naming the field at fault, and 403 for a key without admin."""

from __future__ import annotations

import secrets

import httpx
import pytest

from shared.sending_domains import public_key_b64
from shared.sending_identities import KeyBox, SendingIdentityStore
from shared.workspaces import create_key, ensure_workspace
from tests.integration.sender.conftest import EXAMPLES, Sender, running_sender
from tests.support.dns_stub import Zone, dns_stub
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


async def _client(sender: Sender, *scopes: str) -> tuple[str, httpx.AsyncClient]:
    workspace = f"api-domain-{secrets.token_hex(3)}"
    await ensure_workspace(sender.db, workspace, workspace)
    key = await create_key(sender.db, workspace, "tests", scopes=scopes)
    return workspace, httpx.AsyncClient(base_url=sender.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


async def test_an_admin_key_sets_and_reads_its_sending_domain_and_its_records(sender: Sender) -> None:
    workspace, client = await _client(sender, "admin")
    async with client:
        assert (await client.get("/v1/sending-domain")).status_code == 404
        put = await client.put(
            "/v1/sending-domain",
            json={"domain": "Api-Shop.example.", "from_name": "Api Shop", "reply_to": "care@api-shop.example",
                  "tracking_domain": "links.api-shop.example"},
        )  # fmt: skip
        assert put.status_code == 200, put.text
        got = await client.get("/v1/sending-domain")

    body = got.json()
    assert body == put.json()
    assert (body["domain"], body["from_address"], body["reply_to"]) == (
        "api-shop.example",
        "hello@api-shop.example",
        "care@api-shop.example",
    )
    assert body["verified_at"] is None and body["warmup_started_on"] is not None
    stored = await SendingIdentityStore(sender.db, KeyBox(sender.runtime.settings.identity_encryption_key)).get(
        workspace
    )
    assert stored is not None
    records = {record["purpose"]: record for record in body["records"]}
    assert records["DKIM"]["name"] == f"{body['dkim_selector']}._domainkey.api-shop.example"
    assert records["DKIM"]["value"].endswith(public_key_b64(stored.dkim_private_key))
    assert (records["tracking"]["type"], records["tracking"]["name"]) == ("CNAME", "links.api-shop.example")
    assert "PRIVATE" not in got.text and "dkim_private_key" not in got.text
    audit = await sender.db.fetchval(
        "SELECT count(*) FROM audit_log WHERE workspace_id = $1 AND action = 'sending_domain.changed'", workspace
    )
    assert audit == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"domain": "not a domain", "from_name": "X"}, "domain"),
        ({"domain": "shop.example", "from_name": "X", "from_address": "me@elsewhere.example"}, "from_address"),
        ({"domain": "shop.example", "from_name": "X", "tracking_domain": "http://links"}, "tracking_domain"),
        ({"domain": "shop.example", "from_name": ""}, "from_name"),
        ({"domain": "shop.example"}, "from_name"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(sender: Sender, body: dict[str, str], field: str) -> None:
    _, client = await _client(sender, "admin")
    async with client:
        refused = await client.put("/v1/sending-domain", json=body)
        assert refused.status_code == 422, refused.text
        assert field in [part for problem in refused.json()["detail"] for part in problem["loc"]]
        assert (await client.get("/v1/sending-domain")).status_code == 404


async def test_a_key_without_admin_cannot_touch_the_sending_domain(sender: Sender) -> None:
    _, client = await _client(sender, "templates:write", "templates:read")
    async with client:
        for response in (
            await client.get("/v1/sending-domain"),
            await client.put("/v1/sending-domain", json={"domain": "shop.example", "from_name": "X"}),
            await client.post("/v1/sending-domain/verify"),
        ):
            assert response.status_code == 403 and "admin" in response.text


async def test_verify_answers_each_record_as_dns_has_it_and_marks_the_domain_verified(
    stack: RealStack, api_key: tuple[str, str]
) -> None:
    zone = Zone()
    async with dns_stub(zone) as port:
        prefix = f"{stack.topic_prefix}dns-{secrets.token_hex(3)}."
        async with running_sender(
            stack, api_key[1], topic_prefix=prefix, dns_nameservers=f"127.0.0.1:{port}"
        ) as sender:
            _, client = await _client(sender, "admin")
            async with client:
                put = await client.put("/v1/sending-domain", json={"domain": "verify-shop.example", "from_name": "V"})
                records = put.json()["records"]
                first = (await client.post("/v1/sending-domain/verify")).json()
                for record in records:
                    if record["purpose"] != "DMARC":
                        zone.add(record["name"], record["type"], record["value"])
                second = (await client.post("/v1/sending-domain/verify")).json()
                dmarc = next(record for record in records if record["purpose"] == "DMARC")
                zone.add(dmarc["name"], "TXT", dmarc["value"])
                third = (await client.post("/v1/sending-domain/verify")).json()
                verified_at = (await client.get("/v1/sending-domain")).json()["verified_at"]

    assert first["verified"] is False and not any(check["published"] for check in first["checks"])
    assert second["verified"] is False
    assert [(c["purpose"], c["published"]) for c in second["checks"]] == [
        ("DKIM", True),
        ("SPF", True),
        ("DMARC", False),
    ]
    assert "no such name: _dmarc.verify-shop.example" in second["checks"][2]["found"]
    assert third["verified"] is True and verified_at is not None
    assert any("_domainkey.verify-shop.example" in q for q in zone.questions)


async def test_previews_and_test_sends_look_as_the_workspaces_mail_will(sender: Sender) -> None:
    workspace, client = await _client(sender, "admin")
    domain = f"{workspace}.example"
    async with client:
        await client.put(
            "/v1/sending-domain",
            json={"domain": domain, "from_name": "Preview Shop", "tracking_domain": f"links.{domain}"},
        )
        await sender.runtime.templates.publish(workspace, (EXAMPLES / "welcome-hello.yaml").read_text())
        to = f"tester.{secrets.token_hex(3)}@example.org"
        await client.put("/v1/test-recipients", json={"addresses": [to]})
        preview = await client.post("/v1/templates/welcome-hello/preview", json={"contact": {"email": to}})
        sent = await client.post("/v1/templates/welcome-hello/test-send", json={"to": to})

    assert preview.status_code == 200, preview.text
    assert f"https://links.{domain}/" in preview.json()["html"]
    assert f"unsubscribe@{domain}" in preview.json()["headers"]["List-Unsubscribe"]
    assert sent.json()["status"] == "sent", sent.text
    [mail] = sender.mails_to(to)
    assert mail.mail_from == f"hello@{domain}" and f"<hello@{domain}>" in mail.message["From"]
    assert f"d={domain};" in mail.message["DKIM-Signature"].replace(" ", "").replace("\r\n", "")
