"""Readers with international addresses get their email; a relay that cannot carry one fails the message, clearly.

A Unicode domain goes as punycode and needs nothing of the server; a Unicode local part needs SMTPUTF8.
"""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from shared.contract.redaction import public_detail
from shared.contract.topics import MESSAGES_STATUS
from shared.identity import identifier_hash
from tests.integration.sender.conftest import WORKSPACE, Sender, running_sender
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def test_a_unicode_local_part_and_a_unicode_domain_reach_the_inbox(sender: Sender) -> None:
    await sender.publish_example("welcome-hello")
    local = f"bjørn.{tag()}@eksempel.no"
    domain = f"kari.{tag()}@blåbær.no"
    bjorn = await sender.request(await sender.contact(email=local, first_name="Bjørn"), "welcome-hello")
    kari = await sender.request(await sender.contact(email=domain, first_name="Kari"), "welcome-hello")
    await sender.settled(bjorn.event_id, "sent")
    await sender.settled(kari.event_id, "sent")

    [to_bjorn] = sender.mails_to(local)
    assert to_bjorn.message["To"] == local
    assert "Hi Bjørn," in (to_bjorn.part("plain") or "")
    punycode = domain.replace("blåbær.no", "xn--blbr-roah.no")
    [to_kari] = sender.mails_to(punycode)
    assert to_kari.rcpt_tos == [punycode] and to_kari.message["To"] == punycode
    assert "Hi Kari," in (to_kari.part("plain") or "")


async def test_a_relay_without_smtputf8_fails_a_unicode_local_part_but_delivers_a_unicode_domain(
    stack: RealStack, api_key: tuple[str, str]
) -> None:
    prefix = f"{stack.topic_prefix}ascii-{tag()}."
    async with running_sender(stack, api_key[1], topic_prefix=prefix, smtputf8=False) as sender:
        await sender.publish_example("welcome-hello")
        local = f"bjørn.{tag()}@eksempel.no"
        domain = f"kari.{tag()}@blåbær.no"
        refused = await sender.request(await sender.contact(email=local), "welcome-hello")
        carried = await sender.request(await sender.contact(email=domain, first_name="Kari"), "welcome-hello")

        row = await sender.settled(refused.event_id, "failed")
        await sender.settled(carried.event_id, "sent")
        [status] = await read_topic(
            dataclasses.replace(stack, topic_prefix=prefix),
            MESSAGES_STATUS,
            count=1,
            where=lambda r: r["message_id"] == refused.event_id,
        )
        suppressed = await sender.db.fetchval(
            "SELECT count(*) FROM suppressions WHERE workspace_id = $1 AND address_hash = $2",
            WORKSPACE,
            identifier_hash(WORKSPACE, "email", local),
        )

        assert row["attempts"] == 1  # permanent: not retried
        assert "5.6.7" in row["last_reply"] and "does not offer SMTPUTF8" in row["last_reply"]
        assert status["status"] == "failed" and status["detail"] == public_detail(row["last_reply"])
        assert "SMTPUTF8" not in status["detail"] and "5.6.7" in status["detail"]  # codes only, never the text
        assert suppressed == 0  # the address is alive: another relay could carry it
        assert [mail.rcpt_tos for mail in sender.inbox.mails] == [[domain.replace("blåbær.no", "xn--blbr-roah.no")]]
        assert "Hi Kari," in (sender.inbox.mails[0].part("plain") or "")
