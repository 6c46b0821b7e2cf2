"""Two workspaces on one stack each send as themselves: `dripline domains add` gives each a domain and a
DKIM key, `dripline domains verify` checks the printed records against a local DNS server, and the
delivered mails carry each workspace's From, Reply-To, tracking domain and a signature that dkimpy
verifies with the key that DNS server publishes."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import partial
from typing import Any

import asyncpg
import dkim
import dns.resolver
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from dripline.cli import app as cli
from shared.contract.topics import MESSAGES_REQUESTED
from shared.sending_domains import identity_records, new_identity
from shared.sending_identities import KeyBox, SendingIdentity, SendingIdentityStore
from shared.settings import SenderSettings
from shared.workspaces import ensure_workspace
from tests.integration.sender.conftest import EXAMPLES, Sender, eventually
from tests.support.dns_stub import Zone, dns_stub
from tests.support.mail_requests import subscribed_reader, welcome_request
from tests.support.stack import RealStack, own_database

pytestmark = pytest.mark.stack


async def _cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


async def _identity(stack: RealStack, workspace: str) -> SendingIdentity:
    connection = await asyncpg.connect(stack.database_url)
    try:
        key = SenderSettings().identity_encryption_key
        found = await SendingIdentityStore(connection, KeyBox(key)).get(workspace)
    finally:
        await connection.close()
    assert found is not None
    return found


async def _delivered(sender: Sender, email: str) -> list[Any]:
    return sender.mails_to(email)


def _dkim_dns(port: int) -> Any:
    """dkimpy's DNS hook, asking the local DNS server (from a thread: the server runs on the test's loop)."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], port

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        return b"".join(b"".join(item.strings) for item in answer)

    return lookup


async def test_two_workspaces_send_with_their_own_from_domain_and_dkim_signature(
    stack: RealStack, sender: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    monkeypatch.setenv("DRIPLINE_TRACKER_PUBLIC_URL", "https://t.dripline.example")
    monkeypatch.setenv(
        "DRIPLINE_IDENTITY_ENCRYPTION_KEY", sender.runtime.settings.identity_encryption_key.get_secret_value()
    )
    monkeypatch.setenv("COLUMNS", "250")
    tag = secrets.token_hex(3)
    shops = {f"ident-a-{tag}": f"a-{tag}.example", f"ident-b-{tag}": f"b-{tag}.example"}
    zone = Zone()
    for workspace, domain in shops.items():
        await ensure_workspace(sender.db, workspace, workspace)
        added = await _cli(
            "domains", "add", workspace, domain, "--from-name", f"Shop {domain}", "--reply-to", f"care@{domain}",
            "--tracking-domain", f"links.{domain}", "--postal-address", f"{domain} AS, Gate 1, Oslo",
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        identity = await _identity(stack, workspace)
        records = identity_records(identity, tracker_public_url="https://t.dripline.example", spf_include=None)
        for record in records:
            assert record.name in added.output and record.type in added.output
        async with dns_stub(zone) as port:
            unpublished = await _cli("domains", "verify", workspace, domain, "--nameserver", f"127.0.0.1:{port}")
        assert unpublished.exit_code == 1 and "Not published yet: DKIM, SPF, DMARC, tracking" in unpublished.output
        for record in records:
            zone.add(record.name, record.type, record.value)

    async with dns_stub(zone) as port:
        for workspace, domain in shops.items():
            verified = await _cli("domains", "verify", workspace, domain, "--nameserver", f"127.0.0.1:{port}")
            assert verified.exit_code == 0, verified.output
            assert "every record is published" in verified.output
        listed = await _cli("domains", "list")
        assert all(workspace in listed.output for workspace in shops), listed.output

        requests = {}
        for workspace in shops:
            await sender.runtime.templates.publish(workspace, (EXAMPLES / "welcome-hello.yaml").read_text())
            email = f"reader.{tag}@{workspace}.example.org"
            requests[workspace] = (
                email,
                welcome_request(workspace, await subscribed_reader(sender.db, workspace, email)),
            )
        await sender.producer.publish(MESSAGES_REQUESTED, [request for _, request in requests.values()])

        for workspace, domain in shops.items():
            email, _ = requests[workspace]
            [mail] = await eventually(partial(_delivered, sender, email), what=f"the mail to {email}")
            message = mail.message
            assert parseaddr(message["From"]) == (f"Shop {domain}", f"hello@{domain}")
            assert message["Reply-To"] == f"care@{domain}"
            assert mail.mail_from == f"hello@{domain}"
            assert message["Message-ID"].endswith(f"@{domain}>")
            assert f"<{workspace}.{domain}>" in message["List-Id"]
            html = mail.part("html") or ""
            assert f"https://links.{domain}/" in html and "t.dripline.example" not in html
            assert f"{domain} AS, Gate 1, Oslo" in (mail.part("plain") or "")
            signature = message["DKIM-Signature"].replace(" ", "").replace("\r\n", "")
            assert f"d={domain};" in signature and "reply-to" in signature.lower()
            assert await asyncio.to_thread(dkim.verify, mail.raw, dnsfunc=_dkim_dns(port))
            other = next(d for d in shops.values() if d != domain)
            forged = mail.raw.replace(f"d={domain}".encode(), f"d={other}".encode(), 1)
            assert not await asyncio.to_thread(dkim.verify, forged, dnsfunc=_dkim_dns(port))


async def test_the_stored_dkim_key_is_encrypted(stack: RealStack, sender: Sender) -> None:
    workspace = f"ident-c-{secrets.token_hex(3)}"
    await ensure_workspace(sender.db, workspace, workspace)
    box = KeyBox(SecretStr("k" * 32))
    store = SendingIdentityStore(sender.db, box)
    identity = new_identity(workspace, "c.example", today=datetime.now(UTC).date(), from_name="C")
    await store.save(identity)

    stored = await sender.db.fetchval(
        "SELECT dkim_private_key FROM sending_identities WHERE workspace_id = $1", workspace
    )
    assert b"PRIVATE KEY" not in stored and box.open(stored) == identity.dkim_private_key
    assert (await store.get(workspace)) == identity


async def test_mail_of_a_workspace_whose_key_no_longer_decrypts_fails_with_the_reason(sender: Sender) -> None:
    workspace = f"ident-d-{secrets.token_hex(3)}"
    await ensure_workspace(sender.db, workspace, workspace)
    other_key = SendingIdentityStore(sender.db, KeyBox(SecretStr("another-encryption-key-0123456789abcdef")))
    await other_key.save(new_identity(workspace, "d.example", today=datetime.now(UTC).date(), from_name="D"))
    await sender.runtime.templates.publish(workspace, (EXAMPLES / "welcome-hello.yaml").read_text())
    email = f"reader.{secrets.token_hex(3)}@example.org"
    request = welcome_request(workspace, await subscribed_reader(sender.db, workspace, email))

    await sender.producer.publish(MESSAGES_REQUESTED, [request])

    row = await sender.settled(request.event_id, "failed")
    assert "does not decrypt with DRIPLINE_IDENTITY_ENCRYPTION_KEY" in row["last_reply"]
    assert not sender.mails_to(email)  # neither unsigned nor as another shop


async def test_the_migration_adds_the_identity_and_volume_tables_and_takes_them_away(stack: RealStack) -> None:
    tables = (
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('sending_identities', 'sending_volume')"
    )
    async with own_database(stack, "identities", "0001") as database:
        assert await database.connection.fetchval(tables) == 0
        await database.upgrade("0018_sending_identities")
        assert await database.connection.fetchval(tables) == 2
        await database.downgrade("0018_sending_identities-1")
        assert await database.connection.fetchval(tables) == 0
